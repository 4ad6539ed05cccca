package test

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestTokenCommandRefuses: "livechat-auth token" decides "which account"
// as sign-in does: the collation's match for a name is not the account
// (only zoë exists, so zoe is unknown), and an account the rules refuse
// gets no token, with the reason and exit code 1.
func TestTokenCommandRefuses(t *testing.T) {
	w := newWiki(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		"token:\n  secret: \"a token secret of at least thirty-two bytes\"\n")
	run := func(name string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(binPath, "token", "--config", cfgPath, name)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("token %s: %v", name, err)
		}
		return code, out.String(), errOut.String()
	}
	for _, tt := range []struct{ name, reason string }{
		{"zoe", "refused: unknown-user"}, // the wiki has zoë only
		{"ZOE", "refused: unknown-user"},
		{"nina", "refused: suspended"},
		{"rupert", "refused: unmigrated"}, // a login without livechat_id
		{"nobody", "refused: unknown-user"},
	} {
		code, stdout, stderr := run(tt.name)
		if code != 1 || stdout != "" || !strings.Contains(stderr, tt.reason) {
			t.Errorf("token %s: exit %d, stdout %q, stderr %q; want exit 1, no token, %q", tt.name, code, stdout, stderr, tt.reason)
		}
	}
	code, stdout, stderr := run("zoë")
	if code != 0 || strings.Count(stdout, ".") != 2 || !strings.Contains(stderr, fmt.Sprintf("token for %s", "zoë@chat.test")) {
		t.Errorf("token zoë: exit %d, stdout %q, stderr %q; want a token", code, stdout, stderr)
	}
}
