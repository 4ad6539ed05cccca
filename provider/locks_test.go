package provider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

func TestLocks(t *testing.T) {
	a, _, now := newClockedAuth(t)
	ctx := context.Background()
	fail := func(user string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if _, err := a.Authenticate(ctx, user, "chat.test", "typo"); err == nil {
				t.Fatalf("%s: a typo was accepted", user)
			}
			*now = now.Add(time.Second)
		}
	}
	first := *now
	fail("alice", 6)
	fail("Trent.Support", 5) // at the limit, not over it
	fail("zoe", 6)           // a second account (zoë: typed as ASCII, an unknown name)
	fail("zoë", 6)

	if _, ok := a.LockOf("trent.support"); ok {
		t.Error("five failures locked trent.support")
	}
	lk, ok := a.LockOf("ALICE")
	if want := (provider.Lock{Name: "alice", Failures: 6, Until: first.Add(time.Minute)}); !ok || lk != want {
		t.Errorf("LockOf(ALICE) = %+v, %v; want %+v", lk, ok, want)
	}
	locks := a.Locks()
	if len(locks) != 2 || locks[0].Name != "alice" || locks[1].Name != "zoë" {
		t.Fatalf("Locks() = %+v, want alice and zoë, in order (an unknown name is nobody's failure)", locks)
	}
	if _, ok := a.LockOf("a b"); ok {
		t.Error("a name that is no localpart is locked")
	}

	if !a.Unlock("Alice") {
		t.Error("Unlock(Alice) found no failures")
	}
	if a.Unlock("alice") {
		t.Error("a second Unlock found failures")
	}
	if _, ok := a.LockOf("alice"); ok {
		t.Error("still locked after Unlock")
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Errorf("right password after Unlock: %v", err)
	}

	// The lock lifts by itself when the failures leave the window.
	lk, _ = a.LockOf("zoë")
	*now = lk.Until.Add(-time.Nanosecond)
	if _, ok := a.LockOf("zoë"); !ok {
		t.Error("lifted before Until")
	}
	*now = lk.Until
	if _, ok := a.LockOf("zoë"); ok {
		t.Error("still locked at Until")
	}
	if got := a.Locks(); len(got) != 0 {
		t.Errorf("Locks() after every lock lifted = %+v", got)
	}
}

func TestLocksWithoutLimit(t *testing.T) {
	dir, _ := newFixture(t)
	cfg := testConfig(time.Now)
	cfg.MaxFailures = 0
	a, err := provider.New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		_, _ = a.Authenticate(context.Background(), "alice", "chat.test", "typo") // refused; only the lock matters
	}
	if _, ok := a.LockOf("alice"); ok || len(a.Locks()) != 0 || a.Unlock("alice") {
		t.Error("a lock with the limit off")
	}
}

// TestUnknownNameWhileLocked: a locked name that names no account
// (renamed away after the lock) answers rate-limited, and the look at the
// lock counts nothing; an unlocked one answers unknown user.
func TestUnknownNameWhileLocked(t *testing.T) {
	a, dir, now := newClockedAuth(t)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		a.Authenticate(ctx, "alice", "chat.test", "typo")
		*now = now.Add(time.Second)
	}
	dir.Update(1, func(u *wikidb.User) { u.LivechatID = ptr("alice2") })
	if _, err := a.Authenticate(ctx, "ALICE", "chat.test", "x"); !errors.Is(err, provider.ReasonRateLimited) {
		t.Errorf("locked unknown name: %v, want rate-limited", err)
	}
	if _, err := a.Authenticate(ctx, "bob", "chat.test", "x"); !errors.Is(err, provider.ReasonUnknownUser) {
		t.Errorf("unlocked unknown name: %v, want unknown user", err)
	}
	if lk, _ := a.LockOf("alice"); lk.Failures != 6 || lk.Guesses != 0 {
		t.Errorf("the unknown-name path counted something: %+v", lk)
	}
}
