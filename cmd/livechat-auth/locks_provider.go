package main

import "livechat-auth/provider"

// provider.Authenticator keeps the failure counts; these adapters give
// the control channel the running decision maker's locks.

func lockInfoOf(l provider.Lock) lockInfo {
	return lockInfo{Name: l.Name, Failures: l.Failures, Guesses: l.Guesses, Sealed: l.Sealed, Until: l.Until}
}

// lock is the provider's form of l.
func (l lockInfo) lock() provider.Lock {
	return provider.Lock{Name: l.Name, Failures: l.Failures, Guesses: l.Guesses, Sealed: l.Sealed, Until: l.Until}
}

func locksOf(a *provider.Authenticator) []lockInfo {
	var out []lockInfo
	for _, l := range a.Locks() {
		out = append(out, lockInfoOf(l))
	}
	return out
}

func (c *swappedAuth) locks() []lockInfo { return locksOf(c.p.Load()) }

func (c *swappedAuth) lockOf(user string) (lockInfo, bool) {
	l, ok := c.p.Load().LockOf(user)
	return lockInfoOf(l), ok
}

func (c *swappedAuth) unlock(user string) bool { return c.p.Load().Unlock(user) }

func (d *daemon) locks() []lockInfo { return locksOf(d.running.Load().auth) }

func (d *daemon) lockOf(user string) (lockInfo, bool) {
	l, ok := d.running.Load().auth.LockOf(user)
	return lockInfoOf(l), ok
}

func (d *daemon) unlock(user string) bool { return d.running.Load().auth.Unlock(user) }
