package provider

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is the failure limit's settings: an account that failed more than
// Max times within Window is blocked until the oldest of those failures
// leaves the window. Max 0 turns the limit off.
type Limit struct {
	Max    int
	Window time.Duration
}

// FailureCounts is where the failure limit keeps each account's recent
// failures and the guesses refused while it was blocked, under the key
// lockKey gives. Memory keeps them in this process; package state shares
// them among several sidecars. An implementation always answers: one that
// cannot reach what it shares answers from what it kept itself. The
// conformance table in package providertest says what each method does;
// every implementation passes it.
//
// A password is checked only on a reservation, taken at once, in one
// step with the check of the counts: a failure counted before the slow
// hash and taken back (Release) when the password proves right, or, while
// the account is blocked, a guess counted before the cache is asked. So
// however many guesses arrive together, at most lim.Max+1 are hashed and
// lim.Max answered by the cache within a window. A password the cache
// proved recently takes only a guess, and only while the account is
// blocked (Guess).
type FailureCounts interface {
	// Reserve counts a failure of key at now, unless key already failed
	// more than lim.Max times in the window ending now: then it reports
	// blocked and counts a guess instead, unless lim.Max guesses are
	// already counted within the window: then it counts nothing and
	// reports sealed. id names what was counted, for Release.
	Reserve(ctx context.Context, key string, lim Limit, now time.Time) (id string, blocked, sealed bool)
	// Guess is Reserve for a key that is blocked, and counts and reports
	// nothing for one that is not.
	Guess(ctx context.Context, key string, lim Limit, now time.Time) (id string, blocked, sealed bool)
	// Release takes back the failure or guess counted as id.
	Release(ctx context.Context, key, id string)
	// LockOf returns key's lock when it is blocked at now.
	LockOf(ctx context.Context, key string, lim Limit, now time.Time) (Lock, bool)
	// Locks returns every lock in force at now, in no order.
	Locks(ctx context.Context, lim Limit, now time.Time) []Lock
	// Clear forgets key's failures and guesses and reports whether it had
	// failures in the window ending now.
	Clear(ctx context.Context, key string, lim Limit, now time.Time) bool
}

// failureLimiter applies a Limit to FailureCounts. A few typos never
// block anyone, and the right password after a typo works. While an
// account is blocked, a password the cache proved still signs in (see
// checkPassword); the guesses refused meanwhile are counted too, within
// the same window, and while max of them are in it the block is sealed:
// nothing signs in with a password until it lifts. So in any one window
// a guesser gets at most max+1 checked passwords and max guesses against
// the cache, however the failures are spread (in time, or at once, or,
// with shared counts, over several sidecars).
type failureLimiter struct {
	lim    Limit
	counts FailureCounts

	mu      sync.Mutex
	pending map[string]*pending // key → reservations made here and not yet settled
}

// pending counts a key's unsettled reservations; done is closed when the
// last one settles.
type pending struct {
	n    int
	done chan struct{}
}

func newFailureLimiter(lim Limit, counts FailureCounts) *failureLimiter {
	return &failureLimiter{lim: lim, counts: counts, pending: map[string]*pending{}}
}

func (l *failureLimiter) on() bool { return l.lim.Max > 0 }

// reservation is the answer of a Reserve.
type reservation struct {
	id              string // "" when nothing was counted
	blocked, sealed bool
}

// reserve counts a failure of key now, unless it is blocked. A granted
// reservation must be settled: release (not a failure) or keep.
func (l *failureLimiter) reserve(ctx context.Context, key string, now time.Time) reservation {
	if !l.on() {
		return reservation{}
	}
	id, b, s := l.counts.Reserve(ctx, key, l.lim, now)
	if id != "" && !b { // a failure, settled by release or keep
		l.mu.Lock()
		p := l.pending[key]
		if p == nil {
			p = &pending{done: make(chan struct{})}
			l.pending[key] = p
		}
		p.n++
		l.mu.Unlock()
	}
	return reservation{id: id, blocked: b, sealed: s}
}

// guess counts a guess of key now if it is blocked (see
// FailureCounts.Guess): what a password the cache proved needs.
func (l *failureLimiter) guess(ctx context.Context, key string, now time.Time) reservation {
	if !l.on() {
		return reservation{}
	}
	id, b, s := l.counts.Guess(ctx, key, l.lim, now)
	return reservation{id: id, blocked: b, sealed: s}
}

// settle marks a reservation decided.
func (l *failureLimiter) settle(key string, r reservation) {
	if r.id == "" || r.blocked { // nothing, or a guess: never pending
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.pending[key]; p != nil {
		if p.n--; p.n == 0 {
			close(p.done)
			delete(l.pending, key)
		}
	}
}

// keep leaves a reservation counted: it was a failure.
func (l *failureLimiter) keep(key string, r reservation) { l.settle(key, r) }

// waitPending waits until the reservations this process holds on key
// are settled (or ctx ends), and reports whether there were any: a burst
// of sign-ins of one account (its devices reconnecting at once) may block
// it only until the first of them prove the password right.
func (l *failureLimiter) waitPending(ctx context.Context, key string) bool {
	l.mu.Lock()
	p := l.pending[key]
	l.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
	case <-ctx.Done():
	case <-time.After(2 * time.Second): // never hold a sign-in for long on another's attempt
	}
	return true
}

// release takes a reservation back: the password proved right, or the
// attempt was nobody's failure (the wiki did not answer), or no guess.
func (l *failureLimiter) release(ctx context.Context, key string, r reservation) {
	if r.id == "" {
		return
	}
	if _, local := l.counts.(*failureRecord); local || r.blocked {
		// A guess is taken back at once: the next attempt may need its
		// place before it would otherwise land.
		l.counts.Release(ctx, key, r.id)
		l.settle(key, r)
		return
	}
	// Shared counts: the answer need not wait for the round trip. Until
	// it lands, the attempt counts as a failure a moment longer.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		l.counts.Release(ctx, key, r.id)
		l.settle(key, r)
	}()
}

func (l *failureLimiter) lockOf(ctx context.Context, key string, now time.Time) (Lock, bool) {
	if !l.on() {
		return Lock{}, false
	}
	return l.counts.LockOf(ctx, key, l.lim, now)
}

func (l *failureLimiter) locks(ctx context.Context, now time.Time) []Lock {
	if !l.on() {
		return nil
	}
	return l.counts.Locks(ctx, l.lim, now)
}

func (l *failureLimiter) clear(ctx context.Context, key string, now time.Time) bool {
	if !l.on() {
		return false
	}
	return l.counts.Clear(ctx, key, l.lim, now)
}

// failureRecord is FailureCounts kept in this process (see Memory). It
// tracks at most maxAccounts names.
type failureRecord struct {
	maxAccounts int

	mu       sync.Mutex
	next     uint64               // the id of the next failure or guess counted
	failures map[string][]failure // name → recent failures, oldest first
	guesses  map[string][]failure // name → recent guesses made while it was blocked, oldest first
}

// guessIDPrefix starts the id of a guess; a failure's id is a number.
const guessIDPrefix = "g"

type failure struct {
	at time.Time
	id uint64
}

func newFailureRecord() *failureRecord {
	return &failureRecord{maxAccounts: 100000, failures: make(map[string][]failure), guesses: make(map[string][]failure)}
}

func (r *failureRecord) Reserve(_ context.Context, name string, lim Limit, now time.Time) (id string, blocked, sealed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recent := r.prune(name, lim, now)
	if len(recent) > lim.Max {
		id, sealed = r.guessLocked(name, lim, now)
		return id, true, sealed
	}
	if recent == nil && len(r.failures) >= r.maxAccounts {
		for other := range r.failures {
			r.prune(other, lim, now)
		}
		for other := range r.guesses {
			r.prune(other, lim, now)
		}
		if len(r.failures) >= r.maxAccounts {
			// A flood of names: make room by forgetting one that is not
			// blocked, rather than stop counting (which would lift the
			// limit for every name not yet tracked) or grow.
			evicted := false
			for other, list := range r.failures {
				if len(list) <= lim.Max {
					delete(r.failures, other)
					evicted = true
					break
				}
			}
			if !evicted {
				for other := range r.failures {
					delete(r.failures, other)
					break
				}
			}
		}
	}
	r.next++
	r.failures[name] = append(recent, failure{at: now, id: r.next})
	return strconv.FormatUint(r.next, 10), false, false
}

func (r *failureRecord) Guess(_ context.Context, name string, lim Limit, now time.Time) (id string, blocked, sealed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.prune(name, lim, now)) <= lim.Max {
		return "", false, false
	}
	id, sealed = r.guessLocked(name, lim, now)
	return id, true, sealed
}

// guessLocked counts a guess of the blocked name, unless lim.Max are
// counted: then it is sealed. Past max nothing more is kept, so that a
// flood of guesses cannot grow the record. r.mu must be held, and name
// pruned.
func (r *failureRecord) guessLocked(name string, lim Limit, now time.Time) (id string, sealed bool) {
	if len(r.guesses[name]) >= lim.Max {
		return "", true
	}
	r.next++
	r.guesses[name] = append(r.guesses[name], failure{at: now, id: r.next})
	return guessIDPrefix + strconv.FormatUint(r.next, 10), false
}

func (r *failureRecord) Release(_ context.Context, name, id string) {
	set := r.failures
	if rest, guess := strings.CutPrefix(id, guessIDPrefix); guess {
		set, id = r.guesses, rest
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	list := set[name]
	for i, f := range list {
		if f.id == n {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(set, name)
		return
	}
	set[name] = list
}

// prune drops failures and guesses older than the window and returns
// the failures left. Guesses outlive the block they were made in, for the
// rest of their window: a block that lifts and comes back at once is
// sealed again at once. r.mu must be held.
func (r *failureRecord) prune(name string, lim Limit, now time.Time) []failure {
	recent := recentOf(r.failures[name], now, lim.Window)
	if g := recentOf(r.guesses[name], now, lim.Window); len(g) == 0 {
		delete(r.guesses, name)
	} else {
		r.guesses[name] = g
	}
	if len(recent) == 0 {
		delete(r.failures, name)
		return nil
	}
	r.failures[name] = recent
	return recent
}

func times(list []failure) []time.Time {
	out := make([]time.Time, len(list))
	for i, f := range list {
		out[i] = f.at
	}
	return out
}

// recentOf drops the entries, oldest first, older than window at now.
func recentOf(list []failure, now time.Time, window time.Duration) []failure {
	i := 0
	for i < len(list) && now.Sub(list[i].at) >= window {
		i++
	}
	return list[i:]
}

func (r *failureRecord) LockOf(_ context.Context, name string, lim Limit, now time.Time) (Lock, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return LockFrom(name, times(r.prune(name, lim, now)), len(r.guesses[name]), lim)
}

func (r *failureRecord) Locks(_ context.Context, lim Limit, now time.Time) []Lock {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Lock
	for name := range r.failures {
		if lk, ok := LockFrom(name, times(r.prune(name, lim, now)), len(r.guesses[name]), lim); ok {
			out = append(out, lk)
		}
	}
	return out
}

// LockFrom describes name's recent failures (oldest first, within the
// window) and guesses as a lock, if they make one: the lock lifts when
// enough failures have left the window that no more than lim.Max remain.
func LockFrom(name string, recent []time.Time, guesses int, lim Limit) (Lock, bool) {
	if len(recent) <= lim.Max {
		return Lock{}, false
	}
	return Lock{Name: name, Failures: len(recent), Guesses: guesses, Sealed: guesses >= lim.Max,
		Until: recent[len(recent)-lim.Max-1].Add(lim.Window)}, true
}

func (r *failureRecord) Clear(_ context.Context, name string, lim Limit, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	had := len(r.prune(name, lim, now)) > 0
	delete(r.failures, name)
	delete(r.guesses, name)
	return had
}
