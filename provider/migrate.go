package provider

import (
	"context"
	"errors"
	"time"

	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

// The migration API's reasons.
const (
	ReasonMigrated  Reason = "already-migrated" // the account has a livechat_id: nothing to migrate
	ReasonNotStored Reason = "not-stored"       // the account's livechat_id is not the one migrated to
)

// Migratable returns the wiki account with this login when it may be
// given a livechat_id: it exists, has none yet, and the account rules
// (suspension, validation, must-change-password) would let it chat once
// it has one. Otherwise the error is ReasonUnknownUser, ReasonMigrated,
// the rule's Reason, or a technical fault.
func (a *Authenticator) Migratable(ctx context.Context, login string) (wikidb.User, error) {
	u, _, err := a.find(ctx, Lookup{Login: login})
	if err != nil {
		return wikidb.User{}, err
	}
	if u.LivechatID != nil {
		return wikidb.User{}, ReasonMigrated
	}
	prefs, err := a.dir.Prefs(ctx)
	if err != nil {
		return wikidb.User{}, err
	}
	// The rules as they will apply once it has an id.
	withID := u
	withID.LivechatID = &login
	if err := accountRules(withID, prefs, a.now()); err != nil {
		return wikidb.User{}, err
	}
	u.Hash = ""
	return u, nil
}

// Migrated returns the account with this login when its livechat_id is
// name (as the chat server compares localparts): the wiki stored the id
// a migration gave it. ReasonUnmigrated means it has no livechat_id,
// ReasonUnknownUser that there is no such account or its id is another.
func (a *Authenticator) Migrated(ctx context.Context, login, name string) (Account, error) {
	want, err := NormalizeLocalpart(name)
	if err != nil {
		return Account{}, ReasonBadUsername
	}
	acct, err := a.resolve(ctx, Lookup{Login: login}, nil, func(wikidb.User, wikidb.Prefs, time.Time) error { return nil })
	if err != nil {
		return Account{}, err
	}
	if !IsAccountName(want, acct.JID.Localpart()) {
		return Account{}, ReasonNotStored
	}
	return acct, nil
}

// LivechatIDOwner returns the migrated account whose livechat_id the
// wiki's collation holds equal to name, if there is one.
func (a *Authenticator) LivechatIDOwner(ctx context.Context, name string) (wikidb.User, bool, error) {
	n, err := NormalizeLocalpart(name)
	if err != nil {
		return wikidb.User{}, false, ReasonBadUsername
	}
	u, found, err := a.dir.UserByLivechatID(ctx, n)
	if err != nil || !found || u.LivechatID == nil {
		return wikidb.User{}, false, err
	}
	u.Hash = ""
	return u, true, nil
}

// ChatAttempt counts a claim or completion by the wiki account login of
// the chat name name, before anything about the name is answered (even
// that another wiki account holds it): under login's own budget (the
// failure limit, under "migration-by:<login>") and a higher cap for the
// name across every claimer (NameCapFactor times it, under
// "migration:<name>"), so one wiki account learns no more names than it
// could guess passwords, guesses at one name stay bounded however many
// accounts make them, and another user's wrong claims cannot block the
// owner's proof. A blocked attempt is refused with a *ClaimLock (which
// is ReasonRateLimited) naming the key that blocked it; otherwise settle
// must be told how the attempt ended.
func (a *Authenticator) ChatAttempt(ctx context.Context, login, name string) (settle func(Outcome), err error) {
	byKey, nameKey := claimerKey(login), migrationKey(name)
	now := a.now()
	by := a.limiter.reserve(ctx, byKey, now)
	if by.blocked { // Reserve counted the guess
		return nil, &ClaimLock{Key: byKey}
	}
	n := a.claims.reserve(ctx, nameKey, now)
	if n.blocked { // Reserve counted the guess
		a.limiter.release(ctx, byKey, by) // a name others locked costs its owner nothing
		return nil, &ClaimLock{Key: nameKey}
	}
	return func(o Outcome) {
		switch o {
		case OutcomeWrong:
			a.limiter.keep(byKey, by)
			a.claims.keep(nameKey, n)
		case OutcomeTaken:
			a.limiter.keep(byKey, by)
			a.claims.release(ctx, nameKey, n) // asking costs the asker, not the name's owner
		default:
			a.limiter.release(ctx, byKey, by)
			a.claims.release(ctx, nameKey, n)
		}
	}, nil
}

// Outcome is how a migration attempt ended, for ChatAttempt's count.
type Outcome int

const (
	// OutcomeRight: the password proved right, or nobody's failure (a
	// chat-server fault, a refusal before the password was tried).
	OutcomeRight Outcome = iota
	// OutcomeWrong: the chat server refused the password: a failure of
	// the claimer and of the name.
	OutcomeWrong
	// OutcomeTaken: another wiki account holds the name: a failure of
	// the claimer only.
	OutcomeTaken
)

// NameCapFactor is how many times the failure limit a chat name's
// migration proofs may fail within the window, over every claimer.
const NameCapFactor = 4

// ClaimLock refuses a migration attempt: Key ("migration-by:<login>" or
// "migration:<name>") spent its failures. It is ReasonRateLimited.
type ClaimLock struct{ Key string }

func (l *ClaimLock) Error() string { return "refused: rate-limited: " + l.Key }

// Is makes a ClaimLock match ReasonRateLimited.
func (l *ClaimLock) Is(target error) bool { return target == ReasonRateLimited }

// migrationKey is what ChatAttempt counts a name's proofs under, and
// claimerKey a wiki account's; locks lists them as such.
func migrationKey(name string) string { return "migration:" + lockKey(name) }
func claimerKey(login string) string  { return "migration-by:" + lockKey(login) }

// OldPasswordTTL is how long a proved old chat password is told apart
// from a guess when the migration does not complete.
const OldPasswordTTL = 30 * 24 * time.Hour

// ProveOldPassword remembers password as the old chat account name's,
// proved to the chat server by a claim: until the migration completes
// (or OldPasswordTTL passes) its sign-ins are refused as ReasonOldAccount
// without counting as failures (see OldPasswords). Failures counted for
// the name so far were not against a wiki account (none held it) and
// are forgotten.
func (a *Authenticator) ProveOldPassword(ctx context.Context, name, password string) {
	key := lockKey(name)
	for _, p := range passwordForms(password) { // Prosody's sign-ins bring the prepared form
		a.old.Prove(ctx, key, p, a.now().Add(OldPasswordTTL))
	}
	a.limiter.clear(ctx, key, a.now())
}

// ClearFailures ends a completed migration of name by login: it forgets
// the old passwords proved for name, the failures counted for its
// sign-ins and migration proofs, and login's claims. The chat server's
// own sign-ins of the name, while it was not yet a wiki account's, may
// have left refusals behind.
func (a *Authenticator) ClearFailures(ctx context.Context, login, name string) {
	key := lockKey(name)
	a.old.Forget(ctx, key)
	a.limiter.clear(ctx, key, a.now())
	a.claims.clear(ctx, migrationKey(name), a.now())
	a.limiter.clear(ctx, claimerKey(login), a.now())
}

// The credentials livechat-auth itself accepts, refused where a chat
// account's own password is wanted (the migration API).
const (
	ReasonWikiPassword Reason = "wiki-password" // name's wiki password
	ReasonWikiToken    Reason = "wiki-token"    // a sign-in token
)

// WikiCredential reports whether password is a credential livechat-auth
// itself accepts for name@domain, so that the chat server would sign it
// in through the wiki rather than as an old account of its own: a
// sign-in token (anything shaped as one: it is not verified, so none is
// used up) is ReasonWikiToken, name's wiki password ReasonWikiPassword;
// nil means neither. It is not a sign-in: it neither counts a failure
// nor looks at locks (the caller limits it, as the migration API does
// with ChatAttempt), so a user checking an old password cannot lock
// themselves out of chat. Other errors are technical faults.
//
// The password is judged in every form it may reach livechat-auth in (see
// SASLprep): Prosody hands on the prepared form, so a soft hyphen or a
// full-width letter added to the wiki password or a token would otherwise
// pass here and sign in through the wiki there.
func (a *Authenticator) WikiCredential(ctx context.Context, name, domain, password string) error {
	forms := passwordForms(password)
	for _, p := range forms {
		if token.LooksLikeToken(p) {
			return ReasonWikiToken
		}
	}
	if _, err := a.checkName(name, domain); err != nil {
		return nil
	}
	// One look-up; each form checked against the account it finds.
	_, err := a.resolve(ctx, Lookup{Name: name, Domain: domain}, func(u wikidb.User) (err error) {
		for _, p := range forms {
			if _, err = a.verify(u, p); err == nil {
				return nil
			}
		}
		return err
	}, func(wikidb.User, wikidb.Prefs, time.Time) error { return nil })
	var reason Reason
	switch {
	case err == nil:
		return ReasonWikiPassword
	case errors.As(err, &reason):
		return nil
	}
	return err
}

// LooksLikeWikiToken reports whether password, in any form a chat server
// may hand it on in, is shaped as a sign-in token: such a "chat password"
// signs in through the wiki, and is refused before anything about a name
// is answered.
func LooksLikeWikiToken(password string) bool {
	for _, p := range passwordForms(password) {
		if token.LooksLikeToken(p) {
			return true
		}
	}
	return false
}
