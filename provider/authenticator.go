package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider/token"
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

// Config tunes an Authenticator. A zero value turns a feature off; the
// defaults an operator gets live in package config.
type Config struct {
	Domains       []string         // XMPP domains users sign in to; required
	CacheTTL      time.Duration    // how long a verified password skips the slow hash; 0: no cache
	CacheSize     int              // verified passwords kept at most; required with a cache
	MaxFailures   int              // failures per account tolerated within FailureWindow; 0: no limit
	FailureWindow time.Duration    // required with a limit
	Now           func() time.Time // the clock; nil: time.Now
	Tokens        TokenVerifier    // token sign-ins; nil: passwords only
	TokenSubject  Subject          // what a token's subject names (default livechat_id)
}

// maxPasswordBytes bounds what is hashed; longer input is refused.
const maxPasswordBytes = 4096

// Account is an accepted sign-in. User carries no password hash.
type Account struct {
	User     wikidb.User
	JID      jid.JID       // <livechat_id>@<domain>, as the chat server named it
	CacheHit bool          // the password was verified from the cache, with no slow hash
	Token    *token.Claims // the token signed in with; nil for a password
}

// Authenticator decides sign-ins. It is safe for concurrent use.
type Authenticator struct {
	dir     Directory
	domains map[string]bool
	cache   *verifiedCache
	limiter *failureLimiter
	flight  singleflight.Group
	now     func() time.Time
	tokens  TokenVerifier
	subject Subject
}

// New returns an Authenticator reading accounts from dir.
func New(dir Directory, cfg Config) (*Authenticator, error) {
	var errs []error
	if dir == nil {
		errs = append(errs, errors.New("provider: nil Directory"))
	}
	if len(cfg.Domains) == 0 {
		errs = append(errs, errors.New("provider: no XMPP domains"))
	}
	if cfg.CacheTTL > 0 && cfg.CacheSize <= 0 {
		errs = append(errs, errors.New("provider: a cache needs a positive CacheSize"))
	}
	if cfg.MaxFailures > 0 && cfg.FailureWindow <= 0 {
		errs = append(errs, errors.New("provider: a failure limit needs a positive FailureWindow"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	domains := make(map[string]bool, len(cfg.Domains))
	for _, d := range cfg.Domains {
		domains[strings.ToLower(d)] = true
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	switch cfg.TokenSubject {
	case "":
		cfg.TokenSubject = SubjectLivechatID
	case SubjectLivechatID, SubjectLogin, SubjectUserID:
	default:
		return nil, fmt.Errorf("provider: unknown token subject %q", cfg.TokenSubject)
	}
	return &Authenticator{
		tokens:  cfg.Tokens,
		subject: cfg.TokenSubject,
		dir:     dir,
		domains: domains,
		cache:   newVerifiedCache(cfg.CacheTTL, cfg.CacheSize),
		limiter: newFailureLimiter(cfg.MaxFailures, cfg.FailureWindow),
		now:     now,
	}, nil
}

// Authenticate decides whether user@domain may sign in with password. It
// returns the account and nil when accepted, a Reason when refused, and
// another error for a technical fault (the caller answers "no" to both).
//
// Every refusal after the account lookup that did not already pay a
// bcrypt of Tiki's default cost pays one, so an unknown name, a legacy
// hash and a wrong password take the same time.
func (a *Authenticator) Authenticate(ctx context.Context, user, domain, password string) (Account, error) {
	name, err := a.checkName(user, domain)
	if err != nil {
		return Account{}, err
	}
	if password == "" || len(password) > maxPasswordBytes || strings.ContainsRune(password, 0) {
		return Account{}, ReasonBadInput
	}
	if a.tokens != nil && token.LooksLikeToken(password) {
		// Signed tokens cannot be guessed: they neither count as failures
		// nor are blocked by them, so junk tokens cannot lock a user out.
		return a.authenticateToken(ctx, name, domain, password)
	}
	if a.limiter.blocked(name, a.now()) {
		return Account{}, ReasonRateLimited
	}
	u, found, err := a.dir.UserByLivechatID(ctx, name)
	if err != nil {
		return Account{}, err
	}
	if err := a.matchName(u, found, name); err != nil {
		spendDummyVerify(password)
		if errors.Is(err, ReasonUnknownUser) {
			a.limiter.fail(name, a.now())
		}
		return Account{}, err
	}
	hit, err := a.verify(u, password)
	if err != nil {
		if FormatOf(u.Hash) != FormatBcrypt {
			spendDummyVerify(password)
		}
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
	u.Hash = ""
	return Account{User: u, JID: j, CacheHit: hit}, nil
}

// matchName checks that the looked-up row is the account named: the
// database collation also matches names differing in accents or
// trailing spaces, and a stored livechat_id may be no valid localpart.
func (a *Authenticator) matchName(u wikidb.User, found bool, name string) error {
	if !found {
		return ReasonUnknownUser
	}
	if u.LivechatID == nil {
		return nil // unmigrated, matched by login: refused after the password check
	}
	id, err := NormalizeLocalpart(*u.LivechatID)
	switch {
	case err != nil:
		return ReasonBadLivechatID
	case !SameLocalpart(id, name):
		return ReasonUnknownUser
	}
	return nil
}

// UserExists reports whether user@domain names a migrated wiki account,
// whatever its state (a suspended user still exists). When it does not,
// err is ReasonUnknownUser, ReasonBadDomain or ReasonBadUsername; other
// errors are technical faults.
func (a *Authenticator) UserExists(ctx context.Context, user, domain string) (bool, error) {
	name, err := a.checkName(user, domain)
	if err != nil {
		return false, err
	}
	u, found, err := a.dir.UserByLivechatID(ctx, name)
	if err != nil {
		return false, err
	}
	if err := a.matchName(u, found, name); err != nil {
		return false, err
	}
	if u.LivechatID == nil {
		return false, ReasonUnmigrated
	}
	return true, nil
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
	key := a.cache.key(u, password)
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
