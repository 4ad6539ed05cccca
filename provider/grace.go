package provider

import (
	"context"
	"errors"
	"sync"
	"time"

	"livechat-auth/wikidb"
)

// ResultOutageGrace is the result of a sign-in accepted under the outage
// grace (Config.OutageGrace) while the wiki database did not answer.
const ResultOutageGrace = "outage-grace"

// graceRecord is what the outage grace remembers: for each name, the
// account row last read for it (its state, its stored hash), the site
// preferences last read, and when each (account, hash, password) was last
// verified. Entries are cache keys (an HMAC under the process's own key),
// never a password. It is safe for concurrent use and bounded.
type graceRecord struct {
	mu       sync.Mutex
	accounts map[string]graceAccount // normalised livechat_id → the row last read for it
	proven   map[cacheKey]time.Time  // verified (account, hash, password) → when
	prefs    wikidb.Prefs
	hasPrefs bool
}

type graceAccount struct {
	user wikidb.User
	seen time.Time
}

// graceMax bounds each of the record's maps.
const graceMax = 100000

func newGraceRecord() *graceRecord {
	return &graceRecord{accounts: map[string]graceAccount{}, proven: map[cacheKey]time.Time{}}
}

// sawAccount records the row read for name (found), or that name names
// no account now (!found): a deleted or renamed account has no grace.
func (g *graceRecord) sawAccount(name string, u wikidb.User, found bool, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !found {
		delete(g.accounts, name)
		return
	}
	if _, ok := g.accounts[name]; !ok && len(g.accounts) >= graceMax {
		for other := range g.accounts { // drop one at random: the map stays bounded
			delete(g.accounts, other)
			break
		}
	}
	g.accounts[name] = graceAccount{user: u, seen: now}
}

func (g *graceRecord) sawPrefs(p wikidb.Prefs) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prefs, g.hasPrefs = p, true
}

// proved records that the password of key matched its stored hash at now.
func (g *graceRecord) proved(key cacheKey, now time.Time, grace time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.proven[key]; !ok && len(g.proven) >= graceMax {
		for k, at := range g.proven {
			if now.Sub(at) > grace {
				delete(g.proven, k)
			}
		}
		for k := range g.proven {
			if len(g.proven) < graceMax {
				break
			}
			delete(g.proven, k)
		}
	}
	g.proven[key] = now
}

// last returns the row last read for name and the preferences last read.
func (g *graceRecord) last(name string) (graceAccount, wikidb.Prefs, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	acct, ok := g.accounts[name]
	return acct, g.prefs, ok && g.hasPrefs
}

func (g *graceRecord) provenAt(key cacheKey) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.proven[key]
	return at, ok
}

// graceSignIn decides a password sign-in while the wiki database does not
// answer (dbErr): it is accepted only when this very password was
// verified within the grace against the stored hash last read for this
// account, the account is not locked, and the account rules pass on the
// state last read. Anything else is refused as a wrong password would be:
// it pays a bcrypt of the usual cost (so the grace record is no fast
// oracle) and counts as a failure (so guesses during an outage lock the
// account as any others do), and answers dbErr, or rate-limited when
// locked.
func (a *Authenticator) graceSignIn(ctx context.Context, name, domain, password, key string, r reservation, dbErr error) (Account, error) {
	locked := r.blocked
	refuse := func(err error) (Account, error) {
		spendDummyVerify(password, a.costs.usual())
		if locked {
			return Account{}, ReasonRateLimited // Reserve counted the guess
		}
		a.limiter.keep(key, r) // the reservation stays: a failure
		return Account{}, err
	}
	last, prefs, ok := a.grace.last(name)
	if !ok || locked {
		if ok && locked && r.id != "" {
			if at, proven := a.grace.provenAt(a.cache.key(last.user, password)); proven && a.now().Sub(at) <= a.graceFor {
				// The owner's verified password, refused while locked: it
				// takes its guess back, so the owner's own reconnects during
				// the outage cannot seal the lock.
				a.limiter.release(ctx, key, r)
			}
		}
		return refuse(dbErr)
	}
	at, proven := a.grace.provenAt(a.cache.key(last.user, password))
	if !proven || a.now().Sub(at) > a.graceFor {
		return refuse(dbErr) // never a password not verified within the grace
	}
	a.limiter.release(ctx, key, r)
	if err := checkState(last.user, prefs, a.now()); err != nil {
		return Account{}, err
	}
	acct, err := a.account(last.user, name, domain)
	if err != nil {
		return Account{}, err
	}
	acct.OutageGrace = true
	return acct, nil
}

// isOutage reports whether err is the wiki database not answering.
func isOutage(err error) bool { return errors.Is(err, wikidb.ErrUnavailable) }

// ResultOf is Result for a sign-in: ResultOutageGrace when acct was
// accepted under the outage grace.
func ResultOf(acct Account, err error) string {
	if err == nil && acct.OutageGrace {
		return ResultOutageGrace
	}
	return Result(err)
}
