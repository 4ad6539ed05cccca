package provider

import (
	"context"
	"errors"
	"strings"
	"time"

	"livechat-auth/wikidb"
)

// Lookup names the account to resolve by exactly one of Name, Login and
// UserID.
type Lookup struct {
	Name   string // a livechat_id as typed or as the chat server sent it; normalised here
	Login  string // the wiki login, exactly as stored (the session API's "login")
	UserID int64  // users_users.userId (the session API's "user_id")
	Domain string // the chat domain of the JID; "": the first of Config.Domains
}

// errNoSelector is a Lookup naming no account or more than one way.
var errNoSelector = errors.New("provider: a Lookup needs exactly one of Name, Login and UserID")

// Resolve finds the one account l names and applies the account rules
// that hold whatever the credential (see the package documentation). It
// returns the account, with its JID and token subject, and nil when the
// account may chat; a Reason when it may not (ReasonUnknownUser when no
// account is exactly the one named, ReasonUnmigrated when it has no
// livechat_id yet); any other error for a technical fault.
//
// Every way into chat decides "which account" here: password and token
// sign-ins, the session API, the token subcommand and room sync.
func (a *Authenticator) Resolve(ctx context.Context, l Lookup) (Account, error) {
	return a.resolve(ctx, l, nil, accountRules)
}

// credential checks what a sign-in presented against the account found,
// before the account rules: a password, or a token's subject.
type credential func(u wikidb.User) error

// rules are the account rules a way in applies: checkState for passwords,
// accountRules otherwise.
type rules func(u wikidb.User, p wikidb.Prefs, now time.Time) error

// resolve is the one sequence: find the account, check it is exactly the
// one named, check the credential (nil: none), apply the rules, derive
// its JID and subject.
func (a *Authenticator) resolve(ctx context.Context, l Lookup, check credential, apply rules) (Account, error) {
	domain, err := a.domainOf(l.Domain)
	if err != nil {
		return Account{}, err
	}
	u, name, err := a.find(ctx, l)
	if err != nil {
		return Account{}, err
	}
	if check != nil {
		if err := check(u); err != nil {
			return Account{}, err
		}
	}
	prefs, err := a.dir.Prefs(ctx)
	if err != nil {
		return Account{}, err
	}
	if a.grace != nil {
		a.grace.sawPrefs(prefs)
	}
	if err := apply(u, prefs, a.now()); err != nil {
		return Account{}, err
	}
	return a.account(u, name, domain)
}

// domainOf checks a chat domain; "" stands for the first configured one.
func (a *Authenticator) domainOf(domain string) (string, error) {
	if domain == "" {
		return a.domain, nil
	}
	if !a.domains[strings.ToLower(domain)] {
		return "", ReasonBadDomain
	}
	return domain, nil
}

// find looks the account up and checks that the row the database
// returned is exactly the one named: the collation also matches names
// that differ in accents, case, width, ß/ss, ignorable characters or
// trailing spaces. name is the normalised localpart asked for, "" for a
// lookup by login or id.
func (a *Authenticator) find(ctx context.Context, l Lookup) (u wikidb.User, name string, err error) {
	var found bool
	switch {
	case l.Name != "" && l.Login == "" && l.UserID == 0:
		if name, err = NormalizeLocalpart(l.Name); err != nil {
			return wikidb.User{}, "", ReasonBadUsername
		}
		if u, found, err = a.dir.UserByLivechatID(ctx, name); err != nil {
			return wikidb.User{}, "", err
		}
		err = matchName(u, found, name)
		if a.grace != nil {
			a.grace.sawAccount(name, u, err == nil, a.now())
		}
		return u, name, err
	case l.Login != "" && l.Name == "" && l.UserID == 0:
		if u, found, err = a.dir.UserByLogin(ctx, l.Login); err != nil {
			return wikidb.User{}, "", err
		}
		if !found || u.Login != l.Login {
			return wikidb.User{}, "", ReasonUnknownUser
		}
	case l.UserID != 0 && l.Name == "" && l.Login == "":
		if u, found, err = a.dir.UserByID(ctx, l.UserID); err != nil {
			return wikidb.User{}, "", err
		}
		if !found || u.ID != l.UserID {
			return wikidb.User{}, "", ReasonUnknownUser
		}
	default:
		return wikidb.User{}, "", errNoSelector
	}
	return u, "", nil
}

// matchName checks that the row found for the normalised localpart name
// is that account: a migrated account whose livechat_id is the same
// localpart, or an unmigrated one whose login is. A stored livechat_id
// that is no valid localpart can never sign in.
func matchName(u wikidb.User, found bool, name string) error {
	if !found {
		return ReasonUnknownUser
	}
	stored := u.Login
	if u.LivechatID != nil {
		stored = *u.LivechatID
	}
	id, err := NormalizeLocalpart(stored)
	switch {
	case err != nil && u.LivechatID != nil:
		return ReasonBadLivechatID
	case err != nil, !IsAccountName(name, id):
		return ReasonUnknownUser
	}
	return nil
}

// account derives what an accepted account is known by: its JID (under
// the name the chat server used, or the stored livechat_id) and the
// subject a token for it carries. The account carries no hash.
func (a *Authenticator) account(u wikidb.User, name, domain string) (Account, error) {
	if u.LivechatID == nil {
		return Account{}, ReasonUnmigrated
	}
	id, err := NormalizeLocalpart(*u.LivechatID)
	if err != nil {
		return Account{}, ReasonBadLivechatID
	}
	if name == "" {
		name = id
	}
	j, err := JID(name, domain)
	if err != nil {
		return Account{}, ReasonBadUsername
	}
	subject, err := subjectOf(a.subject, u)
	if err != nil {
		return Account{}, err
	}
	stamp := a.cache.stamp(u.Hash)
	u.Hash = ""
	return Account{User: u, JID: j, Subject: subject, PasswordStamp: stamp}, nil
}
