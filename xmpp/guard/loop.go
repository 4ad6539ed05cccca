package guard

import (
	"context"
	"time"

	"mellium.im/xmpp/jid"

	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/admin"
)

// Session is the server administrator signed in: the account that lists
// online users and ends sessions. Close ends it.
type Session struct {
	s     *account.Session
	admin *admin.Client
	self  []jid.JID // never checked or ended
}

// SignIn signs the administrator in with login (see account.Login).
func SignIn(ctx context.Context, login account.Login) (*Session, error) {
	s, err := login.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &Session{s: s, admin: admin.New(s), self: []jid.JID{s.Self(), login.JID()}}, nil
}

// Close signs the administrator out.
func (s *Session) Close() error { return s.s.Close() }

// RunAs makes one pass (see Run) over domains as the administrator
// signed in as s, within half of bound (at least 10 s). The
// administrator's own account is never checked or ended.
func (g *Guard) RunAs(ctx context.Context, s *Session, accounts Accounts, domains []string, bound time.Duration, dryRun bool) (Pass, error) {
	ctx, cancel := context.WithTimeout(ctx, max(bound/2, 10*time.Second))
	defer cancel()
	return g.Run(ctx, accounts, s.admin, domains, s.self, dryRun)
}

// Watch is what Loop's next pass needs, asked for before each: whether
// to check at all, the bound within which a refused account's sessions
// end (a pass every half of it), the accounts, how the administrator
// signs in, and the domains.
type Watch struct {
	Enabled  bool
	Bound    time.Duration
	Accounts Accounts
	Login    account.Login
	Domains  []string
}

// Loop checks the online users every half of the bound while the watch
// is enabled, and ends the sessions of refused accounts, until ctx ends.
// It asks watch before each pass, so new settings turn it on or off. The
// administrator stays signed in between passes; after a failed sign-in
// or pass it signs in again at the next. done, when set, is told each
// pass's outcome (a failed sign-in as its error) before it is logged.
func (g *Guard) Loop(ctx context.Context, watch func() Watch, done func(Pass, error)) {
	var s *Session
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	report := func(p Pass, err error) {
		if done != nil {
			done(p, err)
		}
	}
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		w := watch()
		if !w.Enabled {
			wait = 10 * time.Second // look again after a possible reload
			continue
		}
		wait = w.Bound / 2
		if s == nil {
			var err error
			if s, err = SignIn(ctx, w.Login); err != nil {
				report(Pass{}, err)
				g.log.Warn("cannot sign the session administrator in; trying again", "jid", w.Login.JID().String(), "error", err, "in", wait)
				s = nil
				continue
			}
		}
		p, err := g.RunAs(ctx, s, w.Accounts, w.Domains, w.Bound, false)
		report(p, err)
		if err != nil {
			g.log.Warn("session check failed; signing in again at the next", "error", err, "in", wait)
			s.Close()
			s = nil
			continue
		}
		g.log.Debug("session check done", "online", p.Online, "ended", len(p.Ended), "skipped", p.Skipped)
	}
}
