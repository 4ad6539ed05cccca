package provider

import (
	"context"
	"errors"
	"time"

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

// ChatAttempt counts a password checked outside the wiki (the migration
// API signing in as an old chat account) under the failure limit of
// name's migration proofs: a count of its own, so that wrong sign-ins
// anyone sends the chat server under that name cannot keep its owner from
// migrating. A locked name is refused with ReasonRateLimited; otherwise
// settle must be told whether the password proved right.
func (a *Authenticator) ChatAttempt(ctx context.Context, name string) (settle func(right bool), err error) {
	key := migrationKey(name)
	r := a.limiter.reserve(ctx, key, a.now())
	if r.blocked {
		a.limiter.guessed(ctx, key, a.now())
		return nil, ReasonRateLimited
	}
	return func(right bool) {
		if right {
			a.limiter.release(ctx, key, r)
			return
		}
		a.limiter.keep(key, r)
	}, nil
}

// migrationKey is what ChatAttempt counts a name's proofs under; locks
// lists it as such.
func migrationKey(name string) string { return "migration:" + lockKey(name) }

// ClearFailures forgets the failures counted for name, its sign-ins and
// its migration proofs: a migration that proved the old chat password and
// removed the account leaves behind the refusals the chat server's own
// sign-ins of the name earned while it was not yet a wiki account's.
func (a *Authenticator) ClearFailures(ctx context.Context, name string) {
	a.limiter.clear(ctx, lockKey(name), a.now())
	a.limiter.clear(ctx, migrationKey(name), a.now())
}

// IsWikiPassword reports whether password is name's wiki password. It
// is not a sign-in: it neither counts a failure nor looks at locks (the
// caller limits it, as the migration API does with ChatAttempt), so a
// user checking an old password cannot lock themselves out of chat.
func (a *Authenticator) IsWikiPassword(ctx context.Context, name, domain, password string) (bool, error) {
	if _, err := a.checkName(name, domain); err != nil {
		return false, nil
	}
	_, err := a.resolve(ctx, Lookup{Name: name, Domain: domain}, func(u wikidb.User) error {
		_, err := a.verify(u, password)
		return err
	}, func(wikidb.User, wikidb.Prefs, time.Time) error { return nil })
	var reason Reason
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &reason):
		return false, nil
	}
	return false, err
}
