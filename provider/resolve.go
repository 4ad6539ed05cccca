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
	prefs, err := a.prefs(ctx)
	if err != nil {
		return Account{}, err
	}
	return a.admit(u, name, domain, prefs, apply)
}

// prefs reads the site preferences the rules need.
func (a *Authenticator) prefs(ctx context.Context) (wikidb.Prefs, error) {
	prefs, err := a.dir.Prefs(ctx)
	if err == nil && a.grace != nil {
		a.grace.sawPrefs(prefs)
	}
	return prefs, err
}

// admit applies the rules to the account found and derives what it is
// known by.
func (a *Authenticator) admit(u wikidb.User, name, domain string, prefs wikidb.Prefs, apply rules) (Account, error) {
	if err := apply(u, prefs, a.now()); err != nil {
		return Account{}, err
	}
	return a.account(u, name, domain)
}

// BatchDirectory is a Directory that also reads the accounts of many
// names in one round trip (wikidb.Store does); ResolveAll uses it.
type BatchDirectory interface {
	Directory
	// UsersByLivechatIDs returns, for each of ids, what UserByLivechatID
	// returns for it.
	UsersByLivechatIDs(ctx context.Context, ids []string) (users []wikidb.User, found []bool, err error)
}

// ResolveAll is Resolve for many names on one domain: accounts[i] and
// errs[i] are what Resolve(Lookup{Name: names[i], Domain: domain})
// returns, decided the same way, but the accounts are read with one round
// trip per batch when the directory is a BatchDirectory (one lookup a
// name otherwise), and the site preferences once. A fault reading them
// is the error of each name it left undecided.
func (a *Authenticator) ResolveAll(ctx context.Context, domain string, names []string) (accounts []Account, errs []error) {
	accounts, errs = make([]Account, len(names)), make([]error, len(names))
	d, err := a.domainOf(domain)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return accounts, errs
	}
	normal := make([]string, len(names))
	var ask []string // the valid names, in order
	var at []int     // their positions in names
	for i, n := range names {
		if normal[i], err = NormalizeLocalpart(n); err != nil {
			errs[i] = ReasonBadUsername
			continue
		}
		ask, at = append(ask, normal[i]), append(at, i)
	}
	if len(ask) == 0 {
		return accounts, errs
	}
	users, found, err := a.usersByName(ctx, ask)
	if err == nil {
		var prefs wikidb.Prefs
		if prefs, err = a.prefs(ctx); err == nil {
			for k, i := range at {
				name := normal[i]
				errs[i] = matchName(users[k], found[k], name)
				if a.grace != nil {
					a.grace.sawAccount(name, users[k], errs[i] == nil, a.now())
				}
				if errs[i] == nil {
					accounts[i], errs[i] = a.admit(users[k], name, d, prefs, accountRules)
				}
			}
			return accounts, errs
		}
	}
	for _, i := range at {
		errs[i] = err
	}
	return accounts, errs
}

// usersByName reads the accounts of the normalised names ids: in batches
// when the directory can, else one by one.
func (a *Authenticator) usersByName(ctx context.Context, ids []string) ([]wikidb.User, []bool, error) {
	if b, ok := a.dir.(BatchDirectory); ok {
		return b.UsersByLivechatIDs(ctx, ids)
	}
	users, found := make([]wikidb.User, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		var err error
		if users[i], found[i], err = a.dir.UserByLivechatID(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	return users, found, nil
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
