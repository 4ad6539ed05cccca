package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExtauthBrokenConfig: ejabberd restarts its extauth programs while
// the config file is broken (an edit half done, a bad reload): they start
// anyway and answer "no", rather than exit and have ejabberd give up the
// whole auth pool until it restarts; once the file is fixed, sign-ins
// work again with no restart of ejabberd.
func TestExtauthBrokenConfig(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	good, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()
	if err := goSignIn(ctx, addr, "alice@"+host, "alice-pw-1"); err != nil {
		t.Fatalf("before: %v", err)
	}

	if err := os.WriteFile(cfgPath, append(append([]byte{}, good...), "\ntoken: [unclosed\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	killed := killExtauth(t, cfgPath)
	t.Logf("killed %d extauth processes", killed)
	// ejabberd starts new ones, with the broken file: every sign-in is
	// refused, none hangs or finds the pool gone.
	var last error
	for i := 0; i < 10; i++ {
		last = goSignInWithin(ctx, 20*time.Second, addr, "alice@"+host, "alice-pw-1")
		if last == nil {
			t.Fatal("signed in while the config file was broken")
		}
		t.Logf("sign-in %d while broken: %v", i, last)
	}
	// The programs ejabberd started with the broken file stay up (they
	// would exit at start, and a pool whose programs keep exiting is one
	// ejabberd gives up on).
	before := extauthPIDs(cfgPath)
	time.Sleep(2 * time.Second)
	after := extauthPIDs(cfgPath)
	if len(before) == 0 || strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("extauth programs with the broken file: %v, then %v: they do not stay up", before, after)
	}
	_ = logPath // the reason goes to stderr, which ejabberd keeps: the config's log.file is what is broken

	if err := os.WriteFile(cfgPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 20*time.Second, func() bool {
		last = goSignInWithin(ctx, 10*time.Second, addr, "alice@"+host, "alice-pw-1")
		return last == nil
	}) {
		t.Fatalf("sign-ins did not come back after the config file was fixed: %v", last)
	}
	if err := goSignIn(ctx, addr, "alice@"+host, "wrong"); err == nil {
		t.Error("a wrong password accepted after the recovery")
	}
}

// extauthPIDs lists the extauth programs of cfgPath (not their daemon).
func extauthPIDs(cfgPath string) []string {
	out, _ := exec.Command("pgrep", "-f", "extauth --config "+cfgPath).Output() // none: exit 1
	return strings.Fields(string(out))
}

// killExtauth SIGKILLs the extauth programs of cfgPath (not their
// daemon) and returns how many there were.
func killExtauth(t *testing.T, cfgPath string) int {
	t.Helper()
	n := 0
	for _, f := range extauthPIDs(cfgPath) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid != os.Getpid() {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no extauth process found to kill")
	}
	return n
}
