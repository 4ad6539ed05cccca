package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/status"
)

// serveStatus serves the status page on status.listen until ctx ends.
func serveStatus(ctx context.Context, cfg config.Config, d *daemon, started time.Time, log hclog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Status.Listen)
	if err != nil {
		return err
	}
	var secret []byte
	if cfg.Status.Secret != "" {
		secret = []byte(cfg.Status.Secret)
	}
	h := status.New(status.Config{
		Secret:    secret,
		Snapshot:  func(ctx context.Context) status.Snapshot { return statusSnapshot(ctx, d, started) },
		ClearLock: d.unlock,
		IsAccount: func(ctx context.Context, name string) (bool, error) {
			return d.running.Load().auth.UserExists(ctx, name, "")
		},
		DryRunRooms: func(ctx context.Context) ([]string, error) {
			g := d.running.Load()
			if g.syncer == nil {
				return nil, errors.New("no rooms.rules")
			}
			sum, err := g.syncer.Sync(ctx, g.admin, true)
			if err != nil {
				return nil, err
			}
			return status.DryRunLines(sum), nil
		},
		Recorder: &d.m.recent,
		Log:      log,
		Hosts:    []string{cfg.Status.Listen, ln.Addr().String()},
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut) // the page's requests are short; a cut one is reloaded
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status page stopped", "error", err)
		}
	}()
	auth := "loopback, no secret"
	if secret != nil {
		auth = "basic authentication with status.secret"
	}
	log.Info("status page", "addr", ln.Addr().String(), "access", auth)
	return nil
}

// statusSnapshot reads what the status page shows now.
func statusSnapshot(ctx context.Context, d *daemon, started time.Time) status.Snapshot {
	gen := d.running.Load()
	b := readBuild()
	in := status.Input{
		Config: gen.cfg, Version: b.version, Revision: b.revision, BuildTime: b.time, GoVersion: b.goVersion, Started: started,
		PingWiki:    d.store.Ping,
		SharedState: d.state.degraded,
		Locks:       gen.auth.Locks(),
		Migration:   func(ctx context.Context) *status.Migration { return migrationCounts(ctx, d) },
		Ended:       d.m.endedByReason(),
		LastGuard:   d.m.lastGuard.Load(),
	}
	if last := d.m.lastRoomSync.Load(); last != nil {
		in.LastSync = &status.SyncRun{At: last.at, Summary: last.sum, Err: last.err}
	}
	return in.Snapshot(ctx)
}

// migrationCounts counts the accounts with and without livechat_id, at
// most once a minute: a count reads the whole table, on the pool the
// sign-ins use.
func migrationCounts(ctx context.Context, d *daemon) *status.Migration {
	if c := d.m.migration.Load(); c != nil && time.Since(c.at) < time.Minute {
		return &c.counts
	}
	m := status.Migration{}
	if in, err := d.store.Inspect(ctx, nil); err != nil {
		m.Err = config.OneLine(err)
	} else {
		m.Accounts, m.WithoutLivechatID = in.Accounts, in.WithoutLivechatID
		d.m.migration.Store(&migrationAt{at: time.Now(), counts: m})
	}
	return &m
}

// migrationAt is a migration count and when it was made.
type migrationAt struct {
	at     time.Time
	counts status.Migration
}
