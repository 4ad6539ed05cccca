package test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stackVersions is what each stack's programs say of themselves.
var stackVersions = map[string]struct{ ejabberd, prosody, nginx string }{
	"debian12": {ejabberd: "23.01", prosody: "0.12", nginx: "1.22"},
	"debian13": {ejabberd: "24.12", prosody: "13.0", nginx: "1.26"},
}

// TestStackVersions checks that the chat servers this run's tests start
// are the stack's own: a run that says Debian 13 must not be checking
// this machine's Debian 12 programs, and the other way round.
func TestStackVersions(t *testing.T) {
	want, ok := stackVersions[stack.Name]
	if !ok {
		t.Fatalf("no versions known for stack %q", stack.Name)
	}
	t.Logf("stack %s: ejabberd %s, Prosody %s", stack.Name, want.ejabberd, want.prosody)

	ej := startEjabberd(t, "chat.test", "")
	started := regexp.MustCompile(`ejabberd (\S+) is started`)
	var version string
	for deadline := time.Now().Add(20 * time.Second); version == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		data, _ := os.ReadFile(ej.LogPath)
		if m := started.FindSubmatch(data); m != nil {
			version = string(m[1])
		}
	}
	if !strings.HasPrefix(version, want.ejabberd) {
		t.Errorf("ejabberd says it is %q, want %s", version, want.ejabberd)
	}

	stack.Need(t, "prosodyctl", "apt-get install prosody")
	out, err := stack.Command(t, nil, "prosodyctl", "about").CombinedOutput()
	if err != nil {
		t.Fatalf("prosodyctl about: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^Prosody ` + regexp.QuoteMeta(want.prosody)).Match(out) {
		t.Errorf("prosodyctl about does not say Prosody %s:\n%s", want.prosody, tail(string(out), 600))
	}
}
