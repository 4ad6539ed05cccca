package provider

import (
	"context"
	"sort"
	"time"
)

// Lock is an account refused for repeated failed sign-ins.
type Lock struct {
	Name     string    // the normalised livechat_id (localpart), fully case-folded (ß as ss)
	Failures int       // failures counted in the window
	Guesses  int       // wrong passwords refused since it locked
	Sealed   bool      // Guesses reached the limit: a proven password is refused too
	Until    time.Time // when the lock lifts by itself
}

// Locks returns the accounts locked now, sorted by name. It is empty when
// the failure limit is off.
func (a *Authenticator) Locks() []Lock {
	locks := a.limiter.locks(context.Background(), a.now())
	sort.Slice(locks, func(i, j int) bool { return locks[i].Name < locks[j].Name })
	return locks
}

// LockOf reports whether user (as typed: it is normalised here) is locked
// now, and the lock. A name that cannot be a localpart is never locked.
func (a *Authenticator) LockOf(user string) (Lock, bool) {
	name, err := NormalizeLocalpart(user)
	if err != nil {
		return Lock{}, false
	}
	return a.limiter.lockOf(context.Background(), lockKey(name), a.now())
}

// Unlock forgets user's failed sign-ins, lifting a lock at once, and
// reports whether there were any. user is normalised as in LockOf.
func (a *Authenticator) Unlock(user string) bool {
	name, err := NormalizeLocalpart(user)
	if err != nil {
		return false
	}
	return a.limiter.clear(context.Background(), lockKey(name), a.now())
}
