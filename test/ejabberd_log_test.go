package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEjabberdDecisionsInItsLog: with no log.file (the compose stack's
// setup, and systemd's), the automatic daemon's decisions reach
// ejabberd's own stderr, which the container's log and the journal
// collect, as well as the daemon's log file beside its socket; no
// password reaches either.
func TestEjabberdDecisionsInItsLog(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "livechat-auth.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, "domains: [%s]\nwiki:\n  dsn: %q\n", host, w.ReaderDSN), 0o600); err != nil {
		t.Fatal(err)
	}
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)
	if ok, out := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", ej.C2SPort); !ok {
		t.Fatalf("alice with her password: %s", out)
	}
	if ok, _ := signIn(t, "alice@"+host, "wrong-pw-17", "127.0.0.1", ej.C2SPort); ok {
		t.Fatal("alice with a wrong password signed in")
	}
	decisions := func(path string) (accepted, refused int) {
		return len(logLines(t, path, "extauth-daemon", "accepted", "user=alice")),
			len(logLines(t, path, "extauth-daemon", "refused", "user=alice", "reason=bad-password"))
	}
	if !eventually(t, 5*time.Second, func() bool { a, r := decisions(ej.ConsolePath); return a >= 1 && r >= 1 }) {
		a, r := decisions(ej.ConsolePath)
		t.Errorf("ejabberd's stderr holds %d accepted and %d refused lines of the daemon's, want both", a, r)
	}
	files, _ := filepath.Glob(filepath.Join(ej.RunDir, "*", "extauth-*.log"))
	more, _ := filepath.Glob(filepath.Join(ej.RunDir, "extauth-*.log"))
	files = append(files, more...)
	if len(files) != 1 {
		t.Fatalf("the daemon's log files: %v, want one", files)
	}
	if a, r := decisions(files[0]); a < 1 || r < 1 {
		t.Errorf("the daemon's own log holds %d accepted and %d refused lines, want both", a, r)
	}
	for _, path := range []string{ej.ConsolePath, files[0]} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "alice-pw-1") || strings.Contains(string(data), "wrong-pw-17") {
			t.Errorf("%s holds a password", path)
		}
	}
}
