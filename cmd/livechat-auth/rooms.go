package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"livechat-auth/app"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/rooms"
)

// runSyncRooms runs one sync and prints what changed (or, with --dry-run,
// what would change). Exit 0: every room in step; 1: some room failed.
func runSyncRooms(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("sync-rooms", stderr)
	dryRun := fs.Bool("dry-run", false, "read only: print the plan and change nothing")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	if len(cfg.Rooms.Rules) == 0 {
		fmt.Fprintln(stderr, "livechat-auth sync-rooms: no rooms.rules in the settings")
		return exitError
	}
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	defer closeLog()
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	defer store.Close()
	syncer, err := app.NewSyncer(cfg, store, log.Named("rooms"))
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	sum, err := syncer.Sync(ctx, app.OpenAdminLogin(ctx, cfg, store, log), *dryRun)
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	printSummary(stdout, sum)
	if len(sum.Failed()) > 0 {
		return exitRefused
	}
	return exitOK
}

func printSummary(w io.Writer, sum rooms.Summary) {
	verb := "changed"
	if sum.DryRun {
		verb = "would change"
	}
	for _, r := range sum.Rooms {
		switch {
		case r.Err != nil:
			fmt.Fprintf(w, "%s: FAILED: %v\n", r.Room, r.Err)
		case r.Created:
			fmt.Fprintf(w, "%s: %s (created)\n", r.Room, verb)
		case len(r.Configured) > 0:
			fmt.Fprintf(w, "%s: settings %s: %d\n", r.Room, verb, len(r.Configured))
		}
		for _, c := range r.Changes {
			fmt.Fprintf(w, "%s: %s\n", r.Room, c)
		}
		for _, c := range r.Refused {
			fmt.Fprintf(w, "%s: %s (refused)\n", r.Room, c)
		}
	}
	fmt.Fprintf(w, "%d rooms, %d affiliations %s, %d failed, %d reads and %d writes sent, %s\n",
		len(sum.Rooms), sum.Changed(), verb, len(sum.Failed()), sum.Reads, sum.Writes, sum.Elapsed.Round(time.Millisecond))
}
