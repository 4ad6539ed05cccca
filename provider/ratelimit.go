package provider

import (
	"sync"
	"time"
)

// failureLimiter counts failed sign-ins per account name and blocks an
// account that failed more than max times within window, until the oldest
// of those failures leaves the window. A few typos never block anyone, and
// the right password after a typo works. While an account is blocked, a
// password the cache proved still signs in (see checkPassword); the
// guesses refused meanwhile are counted too, within the same window, and
// while max of them are in it the block is sealed: nothing signs in with
// a password until it lifts. So in any one window a guesser gets at most
// max+1 checked passwords and max guesses against the cache, however the
// failures are spread. It is safe for concurrent use and tracks at most
// maxAccounts names.
type failureLimiter struct {
	max         int
	window      time.Duration
	maxAccounts int
	*failureRecord
}

// failureRecord is the failure times themselves, kept apart from the
// limit's settings so that they outlive a reload (see Memory).
type failureRecord struct {
	mu       sync.Mutex
	failures map[string][]time.Time // name → recent failure times, oldest first
	guesses  map[string][]time.Time // name → recent guesses refused while it was blocked, oldest first
}

func newFailureRecord() *failureRecord {
	return &failureRecord{failures: make(map[string][]time.Time), guesses: make(map[string][]time.Time)}
}

func newFailureLimiter(max int, window time.Duration, rec *failureRecord) *failureLimiter {
	return &failureLimiter{max: max, window: window, maxAccounts: 100000, failureRecord: rec}
}

// blocked reports whether name has failed more than max times in the
// window ending now, and whether the block is sealed: max guesses were
// refused while blocked in that window.
func (l *failureLimiter) blocked(name string, now time.Time) (blocked, sealed bool) {
	if l.max <= 0 {
		return false, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.prune(name, now)) <= l.max {
		return false, false
	}
	return true, len(l.guesses[name]) >= l.max
}

// guessed records a guess at name refused because it is blocked.
func (l *failureLimiter) guessed(name string, now time.Time) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Past max the block is sealed anyway: keep no more, so that a
	// flood of guesses cannot grow the record.
	if len(l.prune(name, now)) > l.max && len(l.guesses[name]) < l.max {
		l.guesses[name] = append(l.guesses[name], now)
	}
}

// fail records a failure of name at now.
func (l *failureLimiter) fail(name string, now time.Time) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.prune(name, now)
	if recent == nil && len(l.failures) >= l.maxAccounts {
		for other := range l.failures {
			l.prune(other, now)
		}
		for other := range l.guesses {
			l.prune(other, now)
		}
		if len(l.failures) >= l.maxAccounts {
			return // under a flood of names, stop tracking new ones rather than grow
		}
	}
	if len(recent) > l.max {
		recent = recent[1:] // keep the list bounded; it stays blocked
	}
	l.failures[name] = append(recent, now)
}

// prune drops failures and guesses older than the window and returns
// the failures left. Guesses outlive the block they were made in, for the
// rest of their window: a block that lifts and comes back at once is
// sealed again at once. l.mu must be held.
func (l *failureLimiter) prune(name string, now time.Time) []time.Time {
	recent := inWindow(l.failures[name], now, l.window)
	if g := inWindow(l.guesses[name], now, l.window); len(g) == 0 {
		delete(l.guesses, name)
	} else {
		l.guesses[name] = g
	}
	if len(recent) == 0 {
		delete(l.failures, name)
		return nil
	}
	l.failures[name] = recent
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

// lockOf returns name's lock when it is blocked at now.
func (l *failureLimiter) lockOf(name string, now time.Time) (Lock, bool) {
	if l.max <= 0 {
		return Lock{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lock(name, l.prune(name, now))
}

// locks returns every lock in force at now, in no order.
func (l *failureLimiter) locks(now time.Time) []Lock {
	if l.max <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Lock
	for name := range l.failures {
		if lk, ok := l.lock(name, l.prune(name, now)); ok {
			out = append(out, lk)
		}
	}
	return out
}

// lock describes name's recent failures as a lock, if they make one: the
// lock lifts when enough of them have left the window that no more than
// max remain. l.mu must be held.
func (l *failureLimiter) lock(name string, recent []time.Time) (Lock, bool) {
	if len(recent) <= l.max {
		return Lock{}, false
	}
	guesses := len(l.guesses[name])
	return Lock{Name: name, Failures: len(recent), Guesses: guesses, Sealed: guesses >= l.max,
		Until: recent[len(recent)-l.max-1].Add(l.window)}, true
}

// clear forgets name's failures and reports whether it had any in the
// window ending now.
func (l *failureLimiter) clear(name string, now time.Time) bool {
	if l.max <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	had := len(l.prune(name, now)) > 0
	delete(l.failures, name)
	delete(l.guesses, name)
	return had
}
