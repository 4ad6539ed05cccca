package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEjabberdMissingReply measures what ejabberd 23.01 does when its
// extauth program never answers a request (as a program whose decision
// died with it would not): the sign-in waits out ejabberd's 30 s call
// timeout and is refused; ejabberd then stops that program (its stdin
// closes) and starts another; a sign-in queued behind the silent one on
// the same process (extauth_pool_size: 1) waits as long and is refused
// too; later sign-ins are answered in step by the new program. README
// ("Shared state") and package extauthd quote these figures.
func TestEjabberdMissingReply(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "silentauth")
	if out, err := exec.Command("go", "build", "-o", prog, "./testdata/silentauth").CombinedOutput(); err != nil {
		t.Fatalf("build silentauth: %v\n%s", err, out)
	}
	notes := filepath.Join(t.TempDir(), "silentauth.log")
	ej := startEjabberdWith(t, ejabberdOptions{Host: "chat.test", Extauth: prog + " " + notes, PoolSize: 1})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()
	if err := goSignIn(ctx, addr, "alice@chat.test", "right"); err != nil {
		t.Fatalf("the right password before: %v", err)
	}
	first := noted(t, notes, "start")
	if len(first) != 1 {
		t.Fatalf("%d programs started, want 1", len(first))
	}

	type result struct {
		err  error
		took time.Duration
	}
	signIn := func(user, password string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			start := time.Now()
			err := goSignInWithin(ctx, 60*time.Second, addr, user+"@chat.test", password)
			ch <- result{err, time.Since(start)}
		}()
		return ch
	}
	silent := signIn("alice", "silent")
	if !eventually(t, 10*time.Second, func() bool { return len(noted(t, notes, "silent")) == 1 }) {
		t.Fatal("the silent request never reached the program")
	}
	queued := signIn("bob", "right")
	s, q := <-silent, <-queued
	t.Logf("a sign-in whose reply never came: %v after %s", s.err, s.took.Round(100*time.Millisecond))
	t.Logf("a sign-in queued behind it on the same process: %v after %s", q.err, q.took.Round(100*time.Millisecond))
	if s.err == nil || s.took < 25*time.Second || s.took > 40*time.Second {
		t.Errorf("the sign-in with no reply: %v after %s; want refused after ejabberd's 30 s", s.err, s.took)
	}
	if q.err == nil || q.took < 20*time.Second {
		t.Errorf("the sign-in queued behind it: %v after %s; want refused when the silent one times out", q.err, q.took)
	}
	if !eventually(t, 10*time.Second, func() bool { return len(noted(t, notes, "start")) == 2 }) {
		t.Fatalf("ejabberd did not start another program: %v", noted(t, notes, ""))
	}
	if exits := noted(t, notes, "exit"); len(exits) != 1 || exits[0] != first[0] {
		t.Errorf("exits %v; want the first program (%s) stopped", exits, first[0])
	}
	if err := goSignIn(ctx, addr, "alice@chat.test", "right"); err != nil {
		t.Errorf("the right password after: %v", err)
	}
	if goSignIn(ctx, addr, "alice@chat.test", "wrong") == nil {
		t.Error("a wrong password after the missing reply signed in: replies out of step")
	}
	logged, err := os.ReadFile(ej.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(logged), "\n") {
		if strings.Contains(line, "xternal auth") || strings.Contains(line, "extauth") || strings.Contains(line, "Failed c2s PLAIN authentication for alice") {
			t.Logf("ejabberd: %s", line)
		}
	}
}

// noted returns the pids of the silentauth notes starting with what.
func noted(t *testing.T, path, what string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var pids []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) == 2 && (what == "" || f[0] == what) {
			pids = append(pids, f[1])
		}
	}
	return pids
}
