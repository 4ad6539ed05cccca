package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/admin"
	"livechat-auth/xmpp/guard"
	"livechat-auth/xmpp/httpauth"
)

// adminSession is the room-sync account signed in as the server
// administrator that ends sessions; it is dialled again when lost.
type adminSession struct {
	session *account.Session
	client  *admin.Client
}

// dialAdmin signs the room-sync account in for session administration.
func dialAdmin(ctx context.Context, login account.Login) (*adminSession, error) {
	s, err := login.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &adminSession{session: s, client: admin.New(s)}, nil
}

// guardPass runs one pass with the account signed in as a.
func guardPass(ctx context.Context, g *guard.Guard, accounts guard.Accounts, a *adminSession, login account.Login, cfg config.Config, dryRun bool) (guard.Pass, error) {
	self := []jid.JID{a.session.Self(), login.JID()}
	ctx, cancel := context.WithTimeout(ctx, max(cfg.EndSessions.Bound/2, 10*time.Second))
	defer cancel()
	return g.Run(ctx, accounts, a.client, cfg.Domains, self, dryRun)
}

// guardLoop checks the online users every half of end_sessions.bound
// while end_sessions.enabled is on, reading the settings afresh each time
// (a reload turns it on or off), and ends the sessions of refused
// accounts. A lost admin session is dialled again at the next pass.
func guardLoop(ctx context.Context, d *daemon, log hclog.Logger) {
	var a *adminSession
	defer func() {
		if a != nil {
			a.session.Close()
		}
	}()
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		gen := d.running.Load()
		cfg := gen.cfg
		if !cfg.EndSessions.Enabled {
			wait = 10 * time.Second // look again after a possible reload
			continue
		}
		wait = cfg.EndSessions.Bound / 2
		if a == nil {
			var err error
			if a, err = dialAdmin(ctx, gen.admin); err != nil {
				d.m.guardRuns.WithLabelValues("failed").Inc()
				log.Warn("cannot sign the session administrator in; trying again", "jid", cfg.Rooms.JID, "error", err, "in", wait)
				a = nil
				continue
			}
		}
		p, err := guardPass(ctx, d.guard, gen.auth, a, gen.admin, cfg, false)
		if err != nil {
			d.m.guardRuns.WithLabelValues("failed").Inc()
			log.Warn("session check failed; signing in again at the next", "error", err, "in", wait)
			a.session.Close()
			a = nil
			continue
		}
		d.m.guardRuns.WithLabelValues("ok").Inc()
		now := time.Now()
		d.m.lastGuard.Store(&now)
		for _, e := range p.Ended {
			if e.Err == nil {
				d.m.sessionEnded(e.Reason)
			}
		}
		log.Debug("session check done", "online", p.Online, "ended", len(p.Ended), "skipped", p.Skipped)
	}
}

// runEndSessions makes one pass and prints what it ended (with --dry-run,
// what it would end). Exit 0: nothing failed; 1: a session could not be
// ended; 2: the pass could not run.
func runEndSessions(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("end-sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "read only: list the sessions that would end, end none")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	if cfg.Rooms.JID == "" {
		return fail(stderr, "end-sessions", fmt.Errorf("rooms.jid: required: the room-sync account ends the sessions, as a server administrator"))
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer closeLog()
	auth, store, tokens, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer store.Close()
	login := adminLogin(cfg, auth, tokens.minter)
	a, err := dialAdmin(ctx, login)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer a.session.Close()
	p, err := guardPass(ctx, guard.New(log.Named("guard"), nil), auth, a, login, cfg, *dryRun)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	verb, failed := "ended", 0
	if p.DryRun {
		verb = "would end"
	}
	for _, e := range p.Ended {
		if e.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: FAILED to end (%s): %v\n", e.JID, e.Reason, e.Err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s (%s)\n", e.JID, verb, e.Reason)
	}
	fmt.Fprintf(stdout, "%d online, %d %s, %d could not be decided (left alone)\n", p.Online, len(p.Ended)-failed, verb, p.Skipped)
	if failed > 0 {
		return exitRefused
	}
	return exitOK
}

// endingAware answers "exists" for an account whose sessions the guard is
// ending, so that a server that ends only existing accounts' sessions
// (Prosody asks first) ends a deleted or renamed one too.
type endingAware struct {
	httpauth.Authenticator
	guard *guard.Guard
}

func (e endingAware) UserExists(ctx context.Context, user, domain string) (bool, error) {
	if e.guard.Ending(user, domain) {
		return true, nil
	}
	return e.Authenticator.UserExists(ctx, user, domain)
}

var _ guard.Accounts = (*provider.Authenticator)(nil)
