package provider

import (
	"context"
	"strconv"
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
// A password is checked only on a reservation: a failure counted before
// the check, at once, and taken back (Release) when the password proves
// right. So however many guesses arrive together, at most lim.Max+1 are
// checked within a window. A password the cache proved recently is no
// guess: it needs only Sealed, which counts nothing.
type FailureCounts interface {
	// Reserve counts a failure of key at now, unless key already failed
	// more than lim.Max times in the window ending now: then it counts
	// nothing and reports blocked, and sealed when lim.Max guesses were
	// refused while blocked within the window. id names the failure
	// counted, for Release.
	Reserve(ctx context.Context, key string, lim Limit, now time.Time) (id string, blocked, sealed bool)
	// Sealed reports what Reserve would report as sealed (key blocked at
	// now, with lim.Max guesses refused within the window), counting
	// nothing: the one look a password the cache proved needs.
	Sealed(ctx context.Context, key string, lim Limit, now time.Time) bool
	// Release takes back the failure Reserve counted as id.
	Release(ctx context.Context, key, id string)
	// Guessed records a guess refused because key is blocked; past
	// lim.Max of them nothing more is kept.
	Guessed(ctx context.Context, key string, lim Limit, now time.Time)
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
	if b {
		id = "" // a blocked attempt counted nothing
	}
	if id != "" {
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

// settle marks a reservation decided.
func (l *failureLimiter) settle(key string, r reservation) {
	if r.id == "" {
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
// attempt was nobody's failure (the wiki did not answer).
func (l *failureLimiter) release(ctx context.Context, key string, r reservation) {
	if r.id == "" {
		return
	}
	if _, local := l.counts.(*failureRecord); local {
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

func (l *failureLimiter) guessed(ctx context.Context, key string, now time.Time) {
	if l.on() {
		l.counts.Guessed(ctx, key, l.lim, now)
	}
}

// sealed reports whether key's lock is sealed now.
func (l *failureLimiter) sealed(ctx context.Context, key string, now time.Time) bool {
	return l.on() && l.counts.Sealed(ctx, key, l.lim, now)
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
	next     uint64                 // the id of the next failure counted
	failures map[string][]failure   // name → recent failures, oldest first
	guesses  map[string][]time.Time // name → recent guesses refused while it was blocked, oldest first
}

type failure struct {
	at time.Time
	id uint64
}

func newFailureRecord() *failureRecord {
	return &failureRecord{maxAccounts: 100000, failures: make(map[string][]failure), guesses: make(map[string][]time.Time)}
}

func (r *failureRecord) Reserve(_ context.Context, name string, lim Limit, now time.Time) (id string, blocked, sealed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recent := r.prune(name, lim, now)
	if len(recent) > lim.Max {
		return "", true, len(r.guesses[name]) >= lim.Max
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

func (r *failureRecord) Sealed(_ context.Context, name string, lim Limit, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prune(name, lim, now)) > lim.Max && len(r.guesses[name]) >= lim.Max
}

func (r *failureRecord) Release(_ context.Context, name, id string) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.failures[name]
	for i, f := range list {
		if f.id == n {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(r.failures, name)
		return
	}
	r.failures[name] = list
}

func (r *failureRecord) Guessed(_ context.Context, name string, lim Limit, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Past max the block is sealed anyway: keep no more, so that a
	// flood of guesses cannot grow the record.
	if len(r.prune(name, lim, now)) > lim.Max && len(r.guesses[name]) < lim.Max {
		r.guesses[name] = append(r.guesses[name], now)
	}
}

// prune drops failures and guesses older than the window and returns
// the failures left. Guesses outlive the block they were made in, for the
// rest of their window: a block that lifts and comes back at once is
// sealed again at once. r.mu must be held.
func (r *failureRecord) prune(name string, lim Limit, now time.Time) []failure {
	list := r.failures[name]
	i := 0
	for i < len(list) && now.Sub(list[i].at) >= lim.Window {
		i++
	}
	recent := list[i:]
	if g := inWindow(r.guesses[name], now, lim.Window); len(g) == 0 {
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

// inWindow drops the times, oldest first, older than window at now.
func inWindow(times []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(times) && now.Sub(times[i]) >= window {
		i++
	}
	return times[i:]
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
