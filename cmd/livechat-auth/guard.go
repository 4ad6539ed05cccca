package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"livechat-auth/app"
	"livechat-auth/xmpp/guard"
)

// runEndSessions makes one pass and prints what it ended (with --dry-run,
// what it would end). Exit 0: nothing failed; 1: a session could not be
// ended; 2: the pass could not run.
func runEndSessions(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("end-sessions", stderr)
	dryRun := fs.Bool("dry-run", false, "read only: list the sessions that would end, end none")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	if cfg.Rooms.JID == "" {
		return fail(stderr, "end-sessions", fmt.Errorf("rooms.jid: required: the room-sync account ends the sessions, as a server administrator"))
	}
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer closeLog()
	auth, store, tokens, err := app.OpenAuthenticator(ctx, cfg, log)
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer store.Close()
	s, err := guard.SignIn(ctx, app.AdminLogin(cfg, auth, tokens.Minter))
	if err != nil {
		return fail(stderr, "end-sessions", err)
	}
	defer s.Close()
	queries, began := store.Queries(), time.Now()
	p, err := guard.New(log.Named("guard"), nil).RunAs(ctx, s, auth, cfg.Domains, cfg.EndSessions.Bound, *dryRun)
	took, queries := time.Since(began), store.Queries()-queries
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
	fmt.Fprintf(stdout, "%d online, %d %s, %d could not be decided (left alone); %d wiki queries, %s\n",
		p.Online, len(p.Ended)-failed, verb, p.Skipped, queries, took.Round(time.Millisecond))
	if failed > 0 {
		return exitRefused
	}
	return exitOK
}
