// Package guard ends the chat sessions of wiki accounts that may no
// longer chat: suspended, unvalidated, deleted, renamed or unmigrated
// since they signed in, or whose password changed while they were
// online. It asks the chat server who is online (only those need
// checking), decides each account through the provider, as every sign-in
// does, and ends the sessions of the refused ones with the server's
// administration commands (package admin). Loop does that periodically,
// with the administrator signed in between passes.
package guard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider"
)

// Accounts decides which account each name is and whether it may chat,
// many names at once (a few queries for thousands of online users);
// *provider.Authenticator implements it.
type Accounts interface {
	ResolveAll(ctx context.Context, domain string, names []string) ([]provider.Account, []error)
}

// Admin lists online users and ends sessions; *admin.Client implements it.
type Admin interface {
	OnlineUsers(ctx context.Context, domain jid.JID) ([]jid.JID, error)
	EndSessions(ctx context.Context, user jid.JID) error
}

// ReasonPasswordChanged is why a session ends when the account's stored
// password changed while it was online.
const ReasonPasswordChanged = "password-changed"

// ending is how long a name counts as being ended (see Ending).
const ending = 30 * time.Second

// Guard remembers, between passes, each online account's password stamp,
// so that a password changed while it is online is noticed. It is safe
// for concurrent use.
type Guard struct {
	log hclog.Logger
	now func() time.Time

	mu     sync.Mutex
	stamps map[string]string    // bare JID → password stamp seen at the last pass
	ending map[string]time.Time // bare JID → until when it is being ended
}

// New returns a Guard; now may be nil (time.Now).
func New(log hclog.Logger, now func() time.Time) *Guard {
	if now == nil {
		now = time.Now
	}
	return &Guard{log: log, now: now, stamps: map[string]string{}, ending: map[string]time.Time{}}
}

// Ended is a session ended (or, in a dry run, one that would be).
type Ended struct {
	JID    jid.JID
	Reason string // a provider reason code, or ReasonPasswordChanged
	Err    error  // the server did not end it
}

// Pass is one look at the online users of domains.
type Pass struct {
	Online  int     // users online (the guard's own accounts left out)
	Ended   []Ended // ended, or to end in a dry run
	Skipped int     // accounts that could not be decided (the wiki did not answer): left alone
	DryRun  bool
}

// endReasons are the refusals that end a session: the account is gone,
// or its state refuses it whatever the credential. Gone (true here) ends
// only an account this guard saw as a wiki account that may chat: a name
// that never was one may be the chat server's own account (ejabberd's
// auth_method: [external, internal] while old accounts migrate).
var endReasons = map[provider.Reason]bool{
	provider.ReasonUnknownUser: true, provider.ReasonUnmigrated: true, provider.ReasonBadLivechatID: true,
	provider.ReasonUnvalidated: false, provider.ReasonSuspended: false, provider.ReasonUnfinished: false,
	provider.ReasonMustChangePassword: false,
}

// Run makes one pass over domains. The accounts in self (the guard's own
// admin account, the room-sync account) are never checked or ended. With
// dryRun nothing is ended. An error means the online users could not be
// listed; a session that could not be ended is in the pass with its Err.
func (g *Guard) Run(ctx context.Context, accounts Accounts, admin Admin, domains []string, self []jid.JID, dryRun bool) (Pass, error) {
	p := Pass{DryRun: dryRun}
	skip := map[string]bool{}
	for _, s := range self {
		skip[s.Bare().String()] = true
	}
	online := map[string]bool{}
	for _, d := range domains {
		domain, err := jid.New("", d, "")
		if err != nil {
			return p, err
		}
		listed, err := admin.OnlineUsers(ctx, domain)
		if err != nil {
			return p, err
		}
		var users []jid.JID
		var names []string
		for _, u := range listed {
			key := u.Bare().String()
			if skip[key] || online[key] || u.Domainpart() != d {
				continue
			}
			online[key] = true
			users, names = append(users, u), append(names, u.Localpart())
		}
		p.Online += len(users)
		accts, errs := accounts.ResolveAll(ctx, d, names)
		for i, u := range users {
			key := u.Bare().String()
			reason, err := g.check(key, accts[i], errs[i], dryRun)
			if err != nil {
				p.Skipped++
				g.log.Warn("session check skipped: the account could not be decided", "jid", key, "error", err)
				continue
			}
			if reason == "" {
				continue
			}
			e := Ended{JID: u.Bare(), Reason: reason}
			if !dryRun {
				e.Err = g.end(ctx, admin, u.Bare(), reason)
			}
			p.Ended = append(p.Ended, e)
		}
	}
	if !dryRun {
		g.forgetOffline(online)
	}
	return p, nil
}

// check decides the online account key, which the provider decided as
// acct, err: the reason to end its sessions, or "" to leave them. A dry
// run keeps no stamp.
func (g *Guard) check(key string, acct provider.Account, err error, dryRun bool) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old, seen := g.stamps[key]
	var reason provider.Reason
	switch {
	case errors.As(err, &reason):
		gone, ends := endReasons[reason]
		if !ends || (gone && !seen) {
			return "", nil // not ours to end: a name no sign-in through us could have used
		}
		return string(reason), nil
	case err != nil:
		return "", err
	}
	if !dryRun {
		g.stamps[key] = acct.PasswordStamp
	}
	if seen && old != acct.PasswordStamp && !rehashed(old, acct.PasswordStamp) {
		return ReasonPasswordChanged, nil
	}
	return "", nil
}

// rehashed reports whether a stamp change is a legacy hash (md5,
// md5-crypt) rewritten as bcrypt, which a wiki may do when the user signs
// in there with the same password: not taken for a password change.
func rehashed(old, cur string) bool {
	oldFormat, _, _ := strings.Cut(old, ":")
	curFormat, _, _ := strings.Cut(cur, ":")
	legacy := oldFormat == string(provider.FormatMD5Hex) || oldFormat == string(provider.FormatMD5Crypt)
	return legacy && curFormat == string(provider.FormatBcrypt)
}

// end ends u's sessions and logs it.
func (g *Guard) end(ctx context.Context, admin Admin, u jid.JID, reason string) error {
	key := u.String()
	g.mu.Lock()
	g.ending[key] = g.now().Add(ending)
	delete(g.stamps, key)
	g.mu.Unlock()
	if err := admin.EndSessions(ctx, u); err != nil {
		g.log.Error("could not end the chat sessions of a refused account", "jid", key, "reason", reason, "error", err)
		return err
	}
	g.log.Info("ended the chat sessions of a refused account", "jid", key, "reason", reason)
	return nil
}

// forgetOffline drops what was kept of accounts no longer online.
func (g *Guard) forgetOffline(online map[string]bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for key := range g.stamps {
		if !online[key] {
			delete(g.stamps, key)
		}
	}
	now := g.now()
	for key, until := range g.ending {
		if now.After(until) {
			delete(g.ending, key)
		}
	}
}

// Ending reports whether the guard is ending user@domain's sessions now.
// A chat server that ends only the sessions of accounts that exist
// (Prosody) asks whether the account exists first: while it is being
// ended, it does, so that a deleted or renamed account can be ended too.
func (g *Guard) Ending(user, domain string) bool {
	j, err := jid.New(user, domain, "")
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.ending[j.Bare().String()]
	return ok && g.now().Before(until)
}
