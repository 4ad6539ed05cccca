package test

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// TestLockSurvivesReload: a reload (SIGHUP) builds a new decision maker,
// but the failure counts, and so a lock, are kept, and so is a verified
// password: otherwise any reload, or a guesser who waits for one, would
// get the failure limit afresh.
func TestLockSurvivesReload(t *testing.T) {
	w := newWiki(t)
	const secret = "the first shared secret, 16+ bytes"
	dir := t.TempDir()
	settings := func(lifetime string) string {
		return fmt.Sprintf("httpauth:\n  secret: %q\nauth:\n  max_failures: 3\n  failure_window: 10m\ntoken:\n  secret: %q\n  lifetime: %s\n",
			secret, "an HS256 secret of at least 32 bytes", lifetime)
	}
	cfgPath, logPath := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings("5m"))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port))

	// alice proves her password once (it is now in the verified cache),
	// then a guesser locks her account.
	if _, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); body != "true" {
		t.Fatalf("alice's password: %q", body)
	}
	for i := 0; i < 4; i++ {
		checkPassword(t, srv.URL, secret, "alice", fmt.Sprintf("guess-%d", i))
		checkPassword(t, srv.URL, secret, "bob", fmt.Sprintf("guess-%d", i))
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "bob", "bob-pw-12"); body != "false" {
		t.Fatalf("bob's right password after 4 failures (limit 3): %q, want a lock", body)
	}

	writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings("4m"))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(logLines(t, logPath, "reloaded", "generation=2")) == 1 }) {
		t.Fatal("the reload was not reported")
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "bob", "bob-pw-12"); body != "false" {
		t.Errorf("after a reload, a locked account's unproven password: %q, want still locked", body)
	}
	if n := len(logLines(t, logPath, "user=bob", "reason=rate-limited")); n != 2 {
		t.Errorf("%d rate-limited refusals of bob logged, want 2 (before and after the reload)", n)
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); body != "true" {
		t.Errorf("after a reload, the owner's proven password: %q, want accepted from the kept cache", body)
	}
	if n := len(logLines(t, logPath, "user=alice", "accepted", "cache_hit=true")); n != 1 {
		t.Errorf("%d cache hits for alice logged, want 1: the verified cache was not kept", n)
	}
}
