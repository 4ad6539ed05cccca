package provider

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Lock is an account refused for repeated failed sign-ins. The JSON form
// is what the control socket (package extauthd) carries.
type Lock struct {
	Name     string    `json:"name"`     // the normalised livechat_id (localpart), fully case-folded (ß as ss)
	Failures int       `json:"failures"` // failures counted in the window
	Guesses  int       `json:"guesses"`  // wrong passwords refused since it locked
	Sealed   bool      `json:"sealed"`   // Guesses reached the limit: a proven password is refused too
	Until    time.Time `json:"until"`    // when the lock lifts by itself
}

// Locks returns the accounts locked now, sorted by name. It is empty when
// the failure limit is off.
//
// Besides accounts, it holds the migration API's counts: a wiki account's
// claims as "migration-by:<login>", and a chat name's proofs over every
// claimer as "migration:<name>" (locked at NameCapFactor times the limit).
func (a *Authenticator) Locks() []Lock {
	ctx, now := context.Background(), a.now()
	var locks []Lock
	for _, l := range a.limiter.locks(ctx, now) {
		if strings.HasPrefix(l.Name, "migration:") {
			var ok bool
			if l, ok = a.claims.lockOf(ctx, l.Name, now); !ok {
				continue // over the limit, under the name's cap
			}
		}
		locks = append(locks, l)
	}
	sort.Slice(locks, func(i, j int) bool { return locks[i].Name < locks[j].Name })
	return locks
}

// LockOf reports whether user (as typed: it is normalised here) is locked
// now, and the lock. A name that cannot be a localpart is never locked.
// "migration:<name>" and "migration-by:<login>" name the migration API's
// counts (see Locks).
func (a *Authenticator) LockOf(user string) (Lock, bool) {
	if key, lim, ok := a.migrationCount(user); ok {
		return lim.lockOf(context.Background(), key, a.now())
	}
	name, err := NormalizeLocalpart(user)
	if err != nil {
		return Lock{}, false
	}
	return a.limiter.lockOf(context.Background(), lockKey(name), a.now())
}

// Unlock forgets user's failed sign-ins, lifting a lock at once, and
// reports whether there were any. user is normalised as in LockOf.
func (a *Authenticator) Unlock(user string) bool {
	if key, lim, ok := a.migrationCount(user); ok {
		return lim.clear(context.Background(), key, a.now())
	}
	name, err := NormalizeLocalpart(user)
	if err != nil {
		return false
	}
	return a.limiter.clear(context.Background(), lockKey(name), a.now())
}

// migrationCount returns the key and limiter of a migration API count
// named as Locks lists it.
func (a *Authenticator) migrationCount(user string) (string, *failureLimiter, bool) {
	switch kind, rest, _ := strings.Cut(user, ":"); {
	case rest == "":
		return "", nil, false
	case kind == "migration":
		return migrationKey(rest), a.claims, true
	case kind == "migration-by":
		return claimerKey(rest), a.limiter, true
	}
	return "", nil, false
}
