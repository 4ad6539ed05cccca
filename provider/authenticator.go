package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"mellium.im/xmpp/jid"

	"livechat-auth/wikidb"
)

// Directory finds wiki accounts for sign-in; *wikidb.Store implements it.
type Directory interface {
	// UserByLivechatID returns the account whose livechat_id matches id
	// under the database collation, or an unmigrated account whose login
	// does. found is false when there is none; err is a technical fault.
	UserByLivechatID(ctx context.Context, id string) (u wikidb.User, found bool, err error)
	// Prefs returns the site preferences the account rules need.
	Prefs(ctx context.Context) (wikidb.Prefs, error)
}

// Config tunes an Authenticator. Zero values take the defaults shown.
type Config struct {
	Domains       []string      // XMPP domains users sign in to; required
	CacheTTL      time.Duration // how long a verified password skips the slow hash (default 5m; negative: no cache)
	CacheSize     int           // verified passwords kept at most (default 10000)
	MaxFailures   int           // failures per account tolerated within FailureWindow (default 5; negative: no limit)
	FailureWindow time.Duration // (default 1m)
}

// maxPasswordBytes bounds what is hashed; longer input is refused.
const maxPasswordBytes = 4096

// Account is an accepted sign-in.
type Account struct {
	User     wikidb.User
	JID      jid.JID // <livechat_id>@<domain>
	CacheHit bool    // the password was verified from the cache, with no slow hash
}

// Authenticator decides sign-ins. It is safe for concurrent use.
type Authenticator struct {
	dir     Directory
	domains map[string]bool
	cache   *verifiedCache
	limiter *failureLimiter
	flight  singleflight.Group
	now     func() time.Time
}

// New returns an Authenticator reading accounts from dir.
func New(dir Directory, cfg Config) (*Authenticator, error) {
	if dir == nil {
		return nil, errors.New("provider: nil Directory")
	}
	if len(cfg.Domains) == 0 {
		return nil, errors.New("provider: no XMPP domains configured")
	}
	domains := make(map[string]bool, len(cfg.Domains))
	for _, d := range cfg.Domains {
		domains[strings.ToLower(d)] = true
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10000
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Minute
	}
	return &Authenticator{
		dir:     dir,
		domains: domains,
		cache:   newVerifiedCache(cfg.CacheTTL, cfg.CacheSize),
		limiter: newFailureLimiter(cfg.MaxFailures, cfg.FailureWindow),
		now:     time.Now,
	}, nil
}

// Authenticate decides whether user@domain may sign in with password. It
// returns the account and nil when accepted, a Reason when refused, and
// another error for a technical fault (the caller answers "no" to both).
func (a *Authenticator) Authenticate(ctx context.Context, user, domain, password string) (Account, error) {
	name, err := a.checkName(user, domain)
	if err != nil {
		return Account{}, err
	}
	if password == "" || len(password) > maxPasswordBytes || strings.ContainsRune(password, 0) {
		return Account{}, ReasonBadInput
	}
	if a.limiter.blocked(name, a.now()) {
		return Account{}, ReasonRateLimited
	}
	u, found, err := a.dir.UserByLivechatID(ctx, name)
	if err != nil {
		return Account{}, err
	}
	if !found {
		spendDummyVerify(password)
		a.limiter.fail(name, a.now())
		return Account{}, ReasonUnknownUser
	}
	if u.LivechatID != nil {
		id, err := NormalizeLocalpart(*u.LivechatID)
		if err != nil {
			spendDummyVerify(password)
			return Account{}, ReasonBadLivechatID
		}
		if id != name {
			// The collation matched a different name (accents, trailing
			// spaces): not this account.
			spendDummyVerify(password)
			a.limiter.fail(name, a.now())
			return Account{}, ReasonUnknownUser
		}
	}
	hit, err := a.verify(u, password)
	if err != nil {
		a.limiter.fail(name, a.now())
		return Account{}, err
	}
	prefs, err := a.dir.Prefs(ctx)
	if err != nil {
		return Account{}, err
	}
	if err := checkState(u, prefs, a.now()); err != nil {
		return Account{}, err
	}
	j, err := JID(name, domain)
	if err != nil {
		return Account{}, ReasonBadUsername
	}
	return Account{User: u, JID: j, CacheHit: hit}, nil
}

// UserExists reports whether user@domain names a migrated wiki account.
// Account state does not matter: a suspended user still exists.
func (a *Authenticator) UserExists(ctx context.Context, user, domain string) (bool, error) {
	name, err := a.checkName(user, domain)
	if err != nil {
		return false, err
	}
	u, found, err := a.dir.UserByLivechatID(ctx, name)
	if err != nil || !found || u.LivechatID == nil {
		return false, err
	}
	id, err := NormalizeLocalpart(*u.LivechatID)
	return err == nil && id == name, nil
}

// checkName checks the domain and returns the normalised localpart.
func (a *Authenticator) checkName(user, domain string) (string, error) {
	if !a.domains[strings.ToLower(domain)] {
		return "", ReasonBadDomain
	}
	name, err := NormalizeLocalpart(user)
	if err != nil {
		return "", ReasonBadUsername
	}
	return name, nil
}

// verify checks the password against the account's stored hash, from the
// cache when this exact (account, hash, password) matched recently.
// Identical concurrent verifications share one slow hash.
func (a *Authenticator) verify(u wikidb.User, password string) (cacheHit bool, err error) {
	key := a.cache.key(u.ID, u.Hash, password)
	if a.cache.has(key, a.now()) {
		return true, nil
	}
	_, err, _ = a.flight.Do(string(key[:]), func() (any, error) {
		if err := VerifyPassword(u.Hash, password, u.Login, u.Email); err != nil {
			return nil, err
		}
		a.cache.add(key, a.now())
		return nil, nil
	})
	if err != nil {
		var r Reason
		if errors.As(err, &r) {
			return false, r
		}
		return false, fmt.Errorf("verify password: %w", err)
	}
	return false, nil
}
