package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/wikidb"
)

var errDown = fmt.Errorf("look up livechat_id: %w: connection refused", wikidb.ErrUnavailable)

// TestOutageGrace: with the grace on, during an outage a password verified
// within the grace for the same account and hash signs in, marked so;
// nothing else does.
func TestOutageGrace(t *testing.T) {
	ctx := context.Background()
	dir, _ := newFixture(t)
	now := time.Unix(1800000000, 0)
	cfg := testConfig(func() time.Time { return now })
	cfg.OutageGrace = 30 * time.Minute
	cfg.CacheTTL = time.Minute // shorter than the grace: the grace does not lean on the cache
	a, err := provider.New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "Trent.Support"} {
		login := map[string]string{"alice": "alice", "Trent.Support": "Trent"}[user]
		if _, err := a.Authenticate(ctx, user, "chat.test", login+"-pw"); err != nil {
			t.Fatalf("%s before the outage: %v", user, err)
		}
	}
	// nina was seen suspended; mallory's row was read but her password never verified.
	a.Authenticate(ctx, "nina", "chat.test", "nina-pw")
	a.Authenticate(ctx, "mallory", "chat.test", "wrong")

	now = now.Add(20 * time.Minute)
	dir.SetErr(errDown)
	acct, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw")
	if err != nil || !acct.OutageGrace || acct.JID.String() != "alice@chat.test" {
		t.Fatalf("alice's verified password during the outage: %+v, %v", acct, err)
	}
	if got := provider.ResultOf(acct, err); got != provider.ResultOutageGrace {
		t.Errorf("ResultOf = %q", got)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"a wrong password", "alice", "alice-pw-not"},
		{"a password never verified", "mallory", "mallory-pw"},
		{"a name never read", "peggy", "peggy-pw"},
		{"a token-shaped password", "alice", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"},
	} {
		if _, err := a.Authenticate(ctx, tc.user, "chat.test", tc.password); !errors.Is(err, wikidb.ErrUnavailable) {
			t.Errorf("%s during the outage: %v; want db-unavailable", tc.name, err)
		}
	}
	if _, err := a.Authenticate(ctx, "nina", "chat.test", "nina-pw"); !errors.Is(err, provider.ReasonSuspended) {
		t.Errorf("an account last seen suspended: %v; want suspended", err)
	}
	if acct, err := a.Authenticate(ctx, "trent.support", "chat.test", "Trent-pw"); err != nil || acct.JID.Localpart() != "trent.support" {
		t.Errorf("another spelling of a verified account: %+v, %v", acct, err)
	}

	now = now.Add(11 * time.Minute) // 31 minutes after alice's verification
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, wikidb.ErrUnavailable) {
		t.Errorf("past the grace: %v; want db-unavailable", err)
	}

	// Back up: a password change in the wiki, then another outage: the
	// old password has no grace (another stored hash), the new one has
	// once verified.
	dir.SetErr(nil)
	setHash(dir, mustBcrypt(t, "alice-new"))
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, provider.ReasonBadPassword) {
		t.Fatalf("the old password after the change: %v", err)
	}
	dir.SetErr(errDown)
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, wikidb.ErrUnavailable) {
		t.Errorf("the old password during an outage after a change: %v", err)
	}
	dir.SetErr(nil)
	a.Authenticate(ctx, "alice", "chat.test", "alice-new")
	dir.Update(1, func(u *wikidb.User) { u.Waiting = "a" }) // suspended, and read so
	a.Authenticate(ctx, "alice", "chat.test", "alice-new")
	dir.SetErr(errDown)
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-new"); !errors.Is(err, provider.ReasonSuspended) {
		t.Errorf("suspended before the outage: %v", err)
	}
	dir.SetErr(nil)
	dir.Update(1, func(u *wikidb.User) { u.LivechatID = ptr("alice2"); u.Waiting = "" }) // renamed: alice names no one
	a.Authenticate(ctx, "alice", "chat.test", "alice-new")
	dir.SetErr(errDown)
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-new"); !errors.Is(err, wikidb.ErrUnavailable) {
		t.Errorf("a name that stopped naming the account: %v", err)
	}
}

// TestOutageGraceOff: without the grace, an outage refuses every sign-in.
func TestOutageGraceOff(t *testing.T) {
	a, dir, _ := newClockedAuth(t)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	dir.SetErr(errDown)
	if acct, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, wikidb.ErrUnavailable) || acct.OutageGrace {
		t.Errorf("grace off: %+v, %v; want db-unavailable", acct, err)
	}
}

// TestPasswordStamp: an account's stamp follows its stored hash.
func TestPasswordStamp(t *testing.T) {
	a, dir, _ := newClockedAuth(t)
	ctx := context.Background()
	first, err := a.Resolve(ctx, provider.Lookup{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := a.Resolve(ctx, provider.Lookup{Name: "alice"})
	setHash(dir, mustBcrypt(t, "another"))
	changed, _ := a.Resolve(ctx, provider.Lookup{Name: "alice"})
	if first.PasswordStamp == "" || first.PasswordStamp != again.PasswordStamp || changed.PasswordStamp == first.PasswordStamp {
		t.Errorf("stamps %q, %q, then after a change %q", first.PasswordStamp, again.PasswordStamp, changed.PasswordStamp)
	}
}

// TestOutageGraceCountsGuesses: during an outage, wrong guesses against
// an account the grace knows count as failures and lock it; once locked,
// even its verified password is refused.
func TestOutageGraceCountsGuesses(t *testing.T) {
	ctx := context.Background()
	a, dir := newGraceAuth(t)
	dir.SetErr(errDown)
	for i := range 4 {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", fmt.Sprintf("guess %d", i)); !errors.Is(err, wikidb.ErrUnavailable) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, ok := a.LockOf("alice"); !ok {
		t.Error("4 wrong guesses during an outage did not lock the account")
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, provider.ReasonRateLimited) {
		t.Errorf("a locked account's verified password during an outage: %v; want rate-limited", err)
	}
}

// TestGraceOwnerDoesNotSealTheLock: the owner's verified password,
// refused while the account is locked during a wiki outage, takes its
// guess back, as it does with the wiki up: the owner's own reconnects do
// not seal the lock, and after the outage the cached password signs in.
func TestGraceOwnerDoesNotSealTheLock(t *testing.T) {
	ctx := context.Background()
	a, dir := newGraceAuth(t)
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

// newGraceAuth is an Authenticator with the outage grace on (30 minutes)
// and a limit of 3 failures, on a fixed clock, where alice's password was
// just verified.
func newGraceAuth(t *testing.T) (*provider.Authenticator, *providertest.Directory) {
	t.Helper()
	dir, _ := newFixture(t)
	now := time.Unix(1800000000, 0)
	cfg := testConfig(func() time.Time { return now })
	cfg.OutageGrace, cfg.MaxFailures = 30*time.Minute, 3
	a, err := provider.New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	return a, dir
}
