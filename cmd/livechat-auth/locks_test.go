package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/xmpp/extauthd"
)

// TestRunLocks: through a daemon's control socket, a wiki that does not
// answer leaves every name not checked (said on stderr, each lock still
// listed), and "clear" passes a key of another limit whole, @ included.
func TestRunLocks(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "d.sock")
	cfg := filepath.Join(dir, "c.yaml")
	body := fmt.Sprintf("domains: [chat.test]\nwiki:\n  dsn: \"reader:pw@tcp(127.0.0.1:1)/tiki\"\nextauth:\n  daemon_socket: %q\n", socket)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Minute)
	keeper := &fakeLocks{m: map[string]provider.Lock{
		"alice":                        {Name: "alice", Failures: 6, Until: until},
		"migration-by:bob@example.org": {Name: "migration-by:bob@example.org", Failures: 6, Until: until},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := extauthd.ServeControl(ctx, extauthd.ControlSocket(socket), keeper, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	var stdout, stderr strings.Builder
	if code := runLocks(ctx, []string{"--config", cfg}, &stdout, &stderr, getenv); code != exitOK {
		t.Fatalf("locks: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "migration-by:bob@example.org: locked after 6") || !strings.Contains(stdout.String(), "\nalice: locked after 6") ||
		!strings.Contains(stderr.String(), "could not ask the wiki which locked names are accounts") ||
		!strings.Contains(stderr.String(), "not checked: 1 lock the wiki was not asked about") {
		t.Errorf("locks with the wiki down:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := runLocks(ctx, []string{"--config", cfg, "clear", "migration-by:bob@example.org"}, &stdout, &stderr, getenv); code != exitOK {
		t.Errorf("clear migration-by:bob@example.org: exit %d\n%s", code, stdout.String())
	}
	if code := runLocks(ctx, []string{"--config", cfg, "clear", "alice@chat.test"}, &stdout, &stderr, getenv); code != exitOK {
		t.Errorf("clear alice@chat.test: exit %d\n%s", code, stdout.String())
	}
}

// fakeLocks keeps locks in a map.
type fakeLocks struct {
	mu sync.Mutex
	m  map[string]provider.Lock
}

func (f *fakeLocks) Locks() []provider.Lock {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []provider.Lock
	for _, l := range f.m {
		out = append(out, l)
	}
	return out
}

func (f *fakeLocks) LockOf(user string) (provider.Lock, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.m[user]
	return l, ok
}

func (f *fakeLocks) Unlock(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[user]
	delete(f.m, user)
	return ok
}
