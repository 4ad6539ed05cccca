package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/text/cases"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

// Directory finds wiki accounts; *wikidb.Store implements it. Lookups
// follow the database collation, so a row found may name another account
// than the one asked for: the Authenticator checks the match exactly.
type Directory interface {
	// UserByLivechatID returns the account whose livechat_id matches id,
	// or an unmigrated account whose login does. found is false when there
	// is none; err is a technical fault.
	UserByLivechatID(ctx context.Context, id string) (u wikidb.User, found bool, err error)
	// UserByLogin returns the account whose login matches login.
	UserByLogin(ctx context.Context, login string) (u wikidb.User, found bool, err error)
	// UserByID returns the account with this userId.
	UserByID(ctx context.Context, id int64) (u wikidb.User, found bool, err error)
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
	Memory        *Memory          // failure counts and verified passwords to keep using; nil: a new one
	Failures      FailureCounts    // where failure counts are kept; nil: in Memory
	OldPasswords  OldPasswords     // old chat passwords proved by migrations; nil: in Memory
	// OutageGrace: while the wiki database does not answer, a password
	// verified within this long for the same account and stored hash
	// still signs in, under the account state last read. 0: off.
	OutageGrace time.Duration
}

// Memory is what Authenticators remember between sign-ins: the recent
// failures of each account (and so its lock) and the verified-password
// cache. Authenticators built in turn from changing settings (a reload)
// share one Memory, so a reload neither lifts a lock nor forgets a
// verified password; each applies its own limits to it. It is safe for
// concurrent use.
type Memory struct {
	failures *failureRecord
	verified *verifiedRecord
	grace    *graceRecord // kept only while an Authenticator has OutageGrace on
	old      *oldPasswordRecord
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{failures: newFailureRecord(), verified: newVerifiedRecord(), grace: newGraceRecord(), old: newOldPasswordRecord()}
}

// OldPasswords returns the old chat passwords kept in this Memory.
func (m *Memory) OldPasswords() OldPasswords { return m.old }

// Failures returns the failure counts kept in this Memory.
func (m *Memory) Failures() FailureCounts { return m.failures }

// maxPasswordBytes bounds what is hashed; longer input is refused.
const maxPasswordBytes = 4096

// Account is an accepted sign-in or a resolved account. User carries no
// password hash.
type Account struct {
	User     wikidb.User
	JID      jid.JID       // <livechat_id>@<domain>, as the chat server named it
	Subject  string        // what a token for the account names (Config.TokenSubject)
	CacheHit bool          // the password was verified from the cache, with no slow hash
	Token    *token.Claims // the token signed in with; nil for a password
	// OutageGrace: accepted while the wiki database did not answer, on a
	// password verified within Config.OutageGrace (see ResultOf).
	OutageGrace bool
	// PasswordStamp changes when the account's stored password hash does:
	// the hash's format (HashFormat), ":", and an HMAC of it under this
	// process's own key, so it tells nothing of the hash and compares only
	// within one process.
	PasswordStamp string
}

// Authenticator decides sign-ins. It is safe for concurrent use.
type Authenticator struct {
	dir     Directory
	domain  string          // the first of Config.Domains
	domains map[string]bool // every one, lower-cased
	cache   *verifiedCache
	limiter *failureLimiter
	claims  *failureLimiter // a chat name's migration proofs: NameCapFactor times the limit
	flight  singleflight.Group
	now     func() time.Time
	tokens  TokenVerifier
	subject Subject
	costs   costCounts // of the bcrypt hashes verified: what a dummy verification costs
	old     OldPasswords

	graceFor time.Duration // Config.OutageGrace
	grace    *graceRecord  // nil when graceFor is 0
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
	if cfg.OutageGrace < 0 {
		errs = append(errs, errors.New("provider: a negative OutageGrace"))
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
	mem := cfg.Memory
	if mem == nil {
		mem = NewMemory()
	}
	failures := cfg.Failures
	if failures == nil {
		failures = mem.failures
	}
	old := cfg.OldPasswords
	if old == nil {
		old = mem.old
	}
	switch cfg.TokenSubject {
	case "":
		cfg.TokenSubject = SubjectLivechatID
	case SubjectLivechatID, SubjectLogin, SubjectUserID:
	default:
		return nil, fmt.Errorf("provider: unknown token subject %q", cfg.TokenSubject)
	}
	var grace *graceRecord
	if cfg.OutageGrace > 0 {
		grace = mem.grace
	}
	return &Authenticator{
		old:      old,
		graceFor: cfg.OutageGrace,
		grace:    grace,
		tokens:   cfg.Tokens,
		subject:  cfg.TokenSubject,
		dir:      dir,
		domain:   cfg.Domains[0],
		domains:  domains,
		cache:    newVerifiedCache(cfg.CacheTTL, cfg.CacheSize, mem.verified),
		limiter:  newFailureLimiter(Limit{Max: cfg.MaxFailures, Window: cfg.FailureWindow}, failures),
		claims:   newFailureLimiter(Limit{Max: cfg.MaxFailures * NameCapFactor, Window: cfg.FailureWindow}, failures),
		now:      now,
	}, nil
}

// Authenticate decides whether user@domain may sign in with password. It
// returns the account and nil when accepted, a Reason when refused, and
// another error for a technical fault (the caller answers "no" to both).
//
// Every refusal after the account lookup that did not already pay a
// bcrypt of Tiki's default cost pays one, so an unknown name, a legacy
// hash, a locked account and a wrong password take the same time.
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
	key := lockKey(name)
	checked, hit := false, false
	acct, err := a.resolve(ctx, Lookup{Name: name, Domain: domain}, func(u wikidb.User) (err error) {
		checked = true
		hit, err = a.checkPassword(ctx, u, key, password)
		return err
	}, checkState)
	acct.CacheHit = hit && err == nil
	if checked {
		return acct, err
	}
	var reason Reason
	switch {
	case errors.As(err, &reason):
		// The name named no account: pay what a wrong password pays. It
		// is nobody's failure: no wiki password was tried, and counting
		// it would let the chat server's own accounts ([external,
		// internal]) lock the name for whoever takes it in the wiki.
		spendDummyVerify(password, a.costs.usual())
		if _, locked := a.limiter.lockOf(ctx, key, a.now()); locked {
			return Account{}, ReasonRateLimited
		}
	case a.grace != nil && isOutage(err):
		return a.graceSignIn(ctx, name, domain, password, key, a.limiter.reserve(ctx, key, a.now()), err)
	}
	return acct, err // the wiki did not answer: nobody's failure
}

// lockKey is what the failure limit counts a name under: its full case
// fold, so that every spelling that names one account (straße, and
// strasse as ejabberd's nodeprep sends it) shares one count. Names that
// fold alike share it even where they are two accounts: such a pair
// locks together, never apart.
func lockKey(name string) string { return cases.Fold().String(name) }

// checkPassword verifies password for the account u, counted under key.
//
// A password the cache proved recently signs in at once while the account
// is not blocked: it is the right password, and nothing is counted. Any
// other is checked on a reservation: a failure counted before the slow
// hash, taken back when the password proves right and left counted when
// it is wrong.
//
// A locked account (see Locks) is refused unless the password is one the
// cache proved recently, so a guesser cannot lock the owner out; the
// refusal costs what a wrong password costs, and a lock cannot be told
// from outside. Every attempt on a locked account counts as a guess
// before the cache is asked, in one step with the look at the lock, and
// the right password takes its guess back; once the lock is sealed (as
// many guesses as failures allowed), the cache is not asked either. So
// however many attempts arrive together, the cache answers at most as
// many as failures are allowed, and cannot serve as an oracle for endless
// guesses.
func (a *Authenticator) checkPassword(ctx context.Context, u wikidb.User, key, password string) (cacheHit bool, err error) {
	ck := a.cache.key(u, password)
	proved := a.cache.has(ck, a.now())
	var r reservation
	if proved {
		r = a.limiter.guess(ctx, key, a.now())
	} else {
		r = a.limiter.reserve(ctx, key, a.now())
		if r.blocked && !r.sealed && a.limiter.waitPending(ctx, key) {
			a.limiter.release(ctx, key, r) // the guess: the burst settled, ask again
			r = a.limiter.reserve(ctx, key, a.now())
		}
	}
	if r.blocked {
		if !r.sealed && a.cache.has(ck, a.now()) {
			a.limiter.release(ctx, key, r) // the right password: no guess
			return true, nil
		}
		if a.old.Proven(ctx, key, password, a.now()) {
			a.limiter.release(ctx, key, r)
			spendDummyVerify(password, a.costs.usual())
			return false, ReasonOldAccount // the old account's own sign-in: no guess
		}
		cost := bcryptCost(u.Hash)
		if cost == 0 {
			cost = a.costs.usual()
		}
		spendDummyVerify(password, cost)
		return false, ReasonRateLimited // the guess stays counted
	}
	if proved { // not blocked: nothing was counted
		if a.grace != nil {
			a.grace.proved(ck, a.now(), a.graceFor)
		}
		return true, nil
	}
	cost := bcryptCost(u.Hash)
	hit, err := a.verify(u, password)
	if !hit {
		a.costs.add(cost)
	}
	if err == nil {
		a.limiter.release(ctx, key, r)
		if a.grace != nil {
			a.grace.proved(a.cache.key(u, password), a.now(), a.graceFor)
		}
	}
	if err != nil {
		if cost == 0 {
			spendDummyVerify(password, a.costs.usual())
		}
		if errors.Is(err, ReasonBadPassword) && a.old.Proven(ctx, key, password, a.now()) {
			// The old chat account's own password, proved by a migration
			// that has not completed: refused here (the chat server tries
			// its own account next), but no guess.
			a.limiter.release(ctx, key, r)
			return hit, ReasonOldAccount
		}
		a.limiter.keep(key, r)
	}
	return hit, err
}

// UserExists reports whether user@domain names a migrated wiki account,
// whatever its state (a suspended user still exists). When it does not,
// err is ReasonUnknownUser, ReasonUnmigrated, ReasonBadDomain or
// ReasonBadUsername; other errors are technical faults.
func (a *Authenticator) UserExists(ctx context.Context, user, domain string) (bool, error) {
	if _, err := a.domainOf(domain); err != nil {
		return false, err
	}
	u, _, err := a.find(ctx, Lookup{Name: user})
	if err != nil {
		return false, err
	}
	if u.LivechatID == nil {
		return false, ReasonUnmigrated
	}
	return true, nil
}

// checkName checks the domain and returns the normalised localpart.
func (a *Authenticator) checkName(user, domain string) (string, error) {
	if _, err := a.domainOf(domain); err != nil || domain == "" {
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
