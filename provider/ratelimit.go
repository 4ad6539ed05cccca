package provider

import (
	"context"
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
type FailureCounts interface {
	// Blocked reports whether key failed more than lim.Max times in the
	// window ending now, and whether the block is sealed: lim.Max guesses
	// were refused while blocked within the window.
	Blocked(ctx context.Context, key string, lim Limit, now time.Time) (blocked, sealed bool)
	// Guessed records a guess refused because key is blocked; past
	// lim.Max of them nothing more is kept.
	Guessed(ctx context.Context, key string, lim Limit, now time.Time)
	// Failed records a failure of key at now.
	Failed(ctx context.Context, key string, lim Limit, now time.Time)
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
// the cache, however the failures are spread (and, with shared counts,
// whichever sidecar they are sent to).
type failureLimiter struct {
	lim    Limit
	counts FailureCounts
}

func (l *failureLimiter) on() bool { return l.lim.Max > 0 }

func (l *failureLimiter) blocked(ctx context.Context, key string, now time.Time) (blocked, sealed bool) {
	if !l.on() {
		return false, false
	}
	return l.counts.Blocked(ctx, key, l.lim, now)
}

// blockedSoon starts asking whether key is blocked and returns the
// answer's getter, which waits for it. Counts kept in this process answer
// at once; shared ones (a round trip to Redis) are asked beside the
// account lookup, so a sign-in waits for the slower of the two, not both.
func (l *failureLimiter) blockedSoon(ctx context.Context, key string, now time.Time) func() (blocked, sealed bool) {
	if _, local := l.counts.(*failureRecord); local || !l.on() {
		b, s := l.blocked(ctx, key, now)
		return func() (bool, bool) { return b, s }
	}
	answer := make(chan [2]bool, 1)
	go func() {
		b, s := l.counts.Blocked(ctx, key, l.lim, now)
		answer <- [2]bool{b, s}
	}()
	return sync.OnceValues(func() (bool, bool) {
		a := <-answer
		return a[0], a[1]
	})
}

func (l *failureLimiter) guessed(ctx context.Context, key string, now time.Time) {
	if l.on() {
		l.counts.Guessed(ctx, key, l.lim, now)
	}
}

func (l *failureLimiter) fail(ctx context.Context, key string, now time.Time) {
	if l.on() {
		l.counts.Failed(ctx, key, l.lim, now)
	}
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
	failures map[string][]time.Time // name → recent failure times, oldest first
	guesses  map[string][]time.Time // name → recent guesses refused while it was blocked, oldest first
}

func newFailureRecord() *failureRecord {
	return &failureRecord{maxAccounts: 100000, failures: make(map[string][]time.Time), guesses: make(map[string][]time.Time)}
}

func (r *failureRecord) Blocked(_ context.Context, name string, lim Limit, now time.Time) (blocked, sealed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.prune(name, lim, now)) <= lim.Max {
		return false, false
	}
	return true, len(r.guesses[name]) >= lim.Max
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

func (r *failureRecord) Failed(_ context.Context, name string, lim Limit, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recent := r.prune(name, lim, now)
	if recent == nil && len(r.failures) >= r.maxAccounts {
		for other := range r.failures {
			r.prune(other, lim, now)
		}
		for other := range r.guesses {
			r.prune(other, lim, now)
		}
		if len(r.failures) >= r.maxAccounts {
			return // under a flood of names, stop tracking new ones rather than grow
		}
	}
	if len(recent) > lim.Max {
		recent = recent[1:] // keep the list bounded; it stays blocked
	}
	r.failures[name] = append(recent, now)
}

// prune drops failures and guesses older than the window and returns
// the failures left. Guesses outlive the block they were made in, for the
// rest of their window: a block that lifts and comes back at once is
// sealed again at once. r.mu must be held.
func (r *failureRecord) prune(name string, lim Limit, now time.Time) []time.Time {
	recent := inWindow(r.failures[name], now, lim.Window)
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
	return LockFrom(name, r.prune(name, lim, now), len(r.guesses[name]), lim)
}

func (r *failureRecord) Locks(_ context.Context, lim Limit, now time.Time) []Lock {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Lock
	for name := range r.failures {
		if lk, ok := LockFrom(name, r.prune(name, lim, now), len(r.guesses[name]), lim); ok {
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
