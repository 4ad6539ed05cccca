package provider_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"livechat-auth/provider"
)

// TestGraceOwnerDoesNotSealTheLock: the owner's verified password,
// refused while the account is locked during a wiki outage, takes its
// guess back, as it does with the wiki up: the owner's own reconnects do
// not seal the lock, and after the outage the cached password signs in.
func TestGraceOwnerDoesNotSealTheLock(t *testing.T) {
	ctx := context.Background()
	dir, _ := newFixture(t)
	now := time.Unix(1800000000, 0)
	cfg := testConfig(func() time.Time { return now })
	cfg.OutageGrace, cfg.MaxFailures = 30*time.Minute, 3
	a, err := provider.New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // a guesser locks alice
		a.Authenticate(ctx, "alice", "chat.test", fmt.Sprintf("guess %d", i))
	}
	// Control: without an outage, the owner's sign-ins do not seal.
	for i := range 5 {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
			t.Fatalf("owner %d while locked: %v", i, err)
		}
	}
	dir.SetErr(errDown)
	for range 3 { // the owner's client reconnects during the outage
		a.Authenticate(ctx, "alice", "chat.test", "alice-pw")
	}
	dir.SetErr(nil)
	lk, _ := a.LockOf("alice")
	t.Logf("after 3 owner reconnects during the outage: guesses %d sealed %v", lk.Guesses, lk.Sealed)
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Errorf("owner's cached password after the outage: %v (sealed by the owner's own sign-ins)", err)
	}
}
