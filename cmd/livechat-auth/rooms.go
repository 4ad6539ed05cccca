package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/rooms"
)

var _ rooms.Members = provider.RoomMembers{}

// newSyncer builds the room syncer of the settings.
func newSyncer(cfg config.Config, store *wikidb.Store, log hclog.Logger) (*rooms.Syncer, error) {
	rc := rooms.Config{Managed: cfg.Domains, Domain: cfg.ChatDomain(), RoomTimeout: cfg.Rooms.RoomTimeout, Settings: map[string]rooms.Settings{}}
	rc.Defaults = roomSettings(cfg.Rooms.Defaults)
	for name, s := range cfg.Rooms.Settings {
		j, err := cfg.RoomJID(name)
		if err != nil {
			return nil, err
		}
		rc.Settings[j.String()] = roomSettings(s)
	}
	for _, r := range cfg.Rooms.Rules {
		rule := rooms.Rule{Group: r.Group, Affiliation: r.Affiliation}
		for _, name := range r.Rooms {
			j, err := cfg.RoomJID(name)
			if err != nil {
				return nil, err
			}
			rule.Rooms = append(rule.Rooms, j)
		}
		rc.Rules = append(rc.Rules, rule)
	}
	return rooms.New(provider.RoomMembers{Groups: store}, log, rc)
}

func roomSettings(s config.RoomSettings) rooms.Settings {
	return rooms.Settings{Name: s.Name, Description: s.Description, Persistent: s.Persistent, MembersOnly: s.MembersOnly, Moderated: s.Moderated}
}

// syncOnce signs the sync account in, runs one sync and signs out.
// Signing in has account.SignInTimeout; each room has rooms.room_timeout.
func syncOnce(ctx context.Context, syncer *rooms.Syncer, login account.Login, dryRun bool) (rooms.Summary, error) {
	client, err := rooms.SignIn(ctx, login)
	if err != nil {
		return rooms.Summary{}, err
	}
	defer client.Close()
	sum, err := syncer.Run(ctx, client, dryRun)
	sum.Reads, sum.Writes = client.Requests()
	return sum, err
}

// runSyncRooms runs one sync and prints what changed (or, with --dry-run,
// what would change). Exit 0: every room in step; 1: some room failed.
func runSyncRooms(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("sync-rooms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "read only: print the plan and change nothing")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	if len(cfg.Rooms.Rules) == 0 {
		fmt.Fprintln(stderr, "livechat-auth sync-rooms: no rooms.rules in the settings")
		return exitError
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	defer closeLog()
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	defer store.Close()
	syncer, err := newSyncer(cfg, store, log.Named("rooms"))
	if err != nil {
		return fail(stderr, "sync-rooms", err)
	}
	sum, err := syncOnce(ctx, syncer, openAdminLogin(ctx, cfg, store, log), *dryRun)
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

// syncLoop syncs every rooms.interval (±10% jitter) until ctx ends,
// backing off after a failed run. It asks for the running settings, their
// syncer (nil without rules) and the sync account's sign-in before each
// run, so a reload changes the rules; with no rules or no interval it
// idles. Each run signs in afresh, so a lost connection is simply made
// again.
func syncLoop(ctx context.Context, current func() (config.Config, *rooms.Syncer, account.Login), m *metrics, log hclog.Logger) {
	wait := time.Duration(0) // the first run starts at once
	backoff := 5 * time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		cfg, syncer, login := current()
		interval := cfg.Rooms.Interval
		if syncer == nil || interval <= 0 {
			wait = time.Minute // look again after a possible reload
			continue
		}
		sum, err := syncOnce(ctx, syncer, login, false)
		m.lastRoomSync.Store(&roomSyncRun{at: time.Now(), sum: sum, err: err})
		wait = interval + time.Duration((rand.Float64()*0.2-0.1)*float64(interval))
		m.roomChanges.Add(float64(sum.Changed()))
		m.roomFailures.Add(float64(len(sum.Failed())))
		switch {
		case err != nil:
			m.roomRuns.WithLabelValues("failed").Inc()
			log.Warn("room sync failed; retrying", "error", err, "in", backoff)
			wait, backoff = backoff, min(2*backoff, interval)
		case len(sum.Failed()) > 0:
			m.roomRuns.WithLabelValues("partial").Inc()
			log.Warn("room sync done with failures", "rooms", len(sum.Rooms), "failed", len(sum.Failed()), "changed", sum.Changed())
			wait, backoff = min(wait, backoff), min(2*backoff, interval)
		default:
			m.roomRuns.WithLabelValues("ok").Inc()
			log.Info("room sync done", "rooms", len(sum.Rooms), "changed", sum.Changed(), "writes", sum.Writes, "duration", sum.Elapsed)
			backoff = 5 * time.Second
		}
	}
}

// syncRun builds a syncer and the sync account's sign-in from cfg,
// reading the token keys afresh, and runs once. The status page's dry
// run calls it; the loop runs with those of the running settings.
func syncRun(ctx context.Context, cfg config.Config, store *wikidb.Store, log hclog.Logger, dryRun bool) (rooms.Summary, error) {
	ctx, cancel := context.WithCancel(ctx) // ends anything the run's keys started
	defer cancel()
	syncer, err := newSyncer(cfg, store, log)
	if err != nil {
		return rooms.Summary{}, err
	}
	return syncOnce(ctx, syncer, openAdminLogin(ctx, cfg, store, log), dryRun)
}

// roomSyncRun is the last run of serve's room sync, for the status page.
type roomSyncRun struct {
	at  time.Time
	sum rooms.Summary
	err error
}
