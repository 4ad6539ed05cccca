package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/xmpp/extauth"
)

// TestPrintLocks: stdout has one line a lock, the accounts' first; the
// others follow by kind, each kind announced on stderr.
func TestPrintLocks(t *testing.T) {
	now := time.Now()
	lock := func(name string) provider.Lock {
		return provider.Lock{Name: name, Failures: 3, Until: now.Add(time.Minute)}
	}
	s := status.Locks{
		Accounts: []provider.Lock{lock("alice"), lock("bob")},
		Others: []status.OtherLock{{Lock: lock("gone2"), Kind: "unknown-user"}, {Lock: lock("migration:carol"), Kind: "migration"},
			{Lock: lock("gone1"), Kind: "unknown-user"}},
		Kinds: []status.KindCount{{Kind: "unknown-user", N: 2}, {Kind: "migration", N: 1}},
	}
	var stdout, stderr, both strings.Builder
	printLocks(teeWriter{&stdout, &both}, teeWriter{&stderr, &both}, s, now, "")
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		name, _, _ := strings.Cut(line, ": locked after 3 failed sign-ins")
		names = append(names, name)
	}
	if got := strings.Join(names, " "); got != "alice bob gone1 gone2 migration:carol" {
		t.Errorf("stdout lists %s:\n%s", got, stdout.String())
	}
	want := "unknown-user: 2 locks of no wiki account\nmigration: 1 lock of no wiki account\n"
	if stderr.String() != want {
		t.Errorf("stderr %q; want %q", stderr.String(), want)
	}
	if !strings.Contains(both.String(), "clear bob\nunknown-user: 2 locks") {
		t.Errorf("the kind is not announced before its locks:\n%s", both.String())
	}

	stdout.Reset()
	stderr.Reset()
	printLocks(&stdout, &stderr, status.Locks{}, now, "")
	if stdout.String() != "no locked accounts\n" || stderr.Len() != 0 {
		t.Errorf("no lock: %q, %q", stdout.String(), stderr.String())
	}
}

type teeWriter struct{ a, b *strings.Builder }

func (w teeWriter) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}

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
	keeper := &fakeLocks{m: map[string]lockInfo{
		"alice":                        {Name: "alice", Failures: 6, Until: until},
		"migration-by:bob@example.org": {Name: "migration-by:bob@example.org", Failures: 6, Until: until},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := serveControl(ctx, extauth.ControlSocket(socket), keeper, hclog.NewNullLogger()); err != nil {
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
