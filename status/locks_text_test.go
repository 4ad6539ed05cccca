package status

import (
	"strings"
	"testing"
	"time"

	"livechat-auth/provider"
)

// TestWriteLocks: stdout has one line a lock, the accounts' first; the
// others follow by kind, each kind announced on stderr.
func TestWriteLocks(t *testing.T) {
	now := time.Now()
	lock := func(name string) provider.Lock {
		return provider.Lock{Name: name, Failures: 3, Until: now.Add(time.Minute)}
	}
	s := Locks{
		Accounts: []provider.Lock{lock("alice"), lock("bob")},
		Others: []OtherLock{{Lock: lock("gone2"), Kind: "unknown-user"}, {Lock: lock("migration:carol"), Kind: "migration"},
			{Lock: lock("gone1"), Kind: "unknown-user"}},
		Kinds: []KindCount{{Kind: "unknown-user", N: 2}, {Kind: "migration", N: 1}},
	}
	var stdout, stderr, both strings.Builder
	WriteLocks(teeWriter{&stdout, &both}, teeWriter{&stderr, &both}, s, now, "")
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
	WriteLocks(&stdout, &stderr, Locks{}, now, "")
	if stdout.String() != "no locked accounts\n" || stderr.Len() != 0 {
		t.Errorf("no lock: %q, %q", stdout.String(), stderr.String())
	}
}

type teeWriter struct{ a, b *strings.Builder }

func (w teeWriter) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}

// TestDescribeLockIsSafeToPrint: a locked name is whatever a client sent;
// it never reaches the terminal raw, and the clear command it suggests
// works when pasted.
func TestDescribeLockIsSafeToPrint(t *testing.T) {
	until := time.Now().Add(time.Minute)
	for _, c := range []struct{ name, want, notWant string }{
		{"alice", "clear with: livechat-auth locks --config /etc/c.yaml clear alice", ""},
		{"-h", "clear -- -h", ""},
		{"x\x1b]0;pwned\x07", `"x\x1b]0;pwned\a"`, "\x1b"},
		{"o'brien", `clear 'o'\''brien'`, ""},
	} {
		got := DescribeLock(provider.Lock{Name: c.name, Failures: 6, Until: until}, time.Now(), "/etc/c.yaml")
		if !strings.Contains(got, c.want) || c.notWant != "" && strings.Contains(got, c.notWant) {
			t.Errorf("%q: %s", c.name, got)
		}
	}
}
