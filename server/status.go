package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/status"
)

// serveStatus serves the status page on status.listen until ctx ends.
func (s *Server) serveStatus(ctx context.Context, cfg config.Config) error {
	log := s.log.Named("status")
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
		Snapshot:  func(ctx context.Context) status.Snapshot { return s.snapshot(ctx) },
		ClearLock: s.Unlock,
		IsAccount: func(ctx context.Context, name string) (bool, error) {
			return s.running.Load().auth.UserExists(ctx, name, "")
		},
		DryRunRooms: func(ctx context.Context) ([]string, error) {
			g := s.running.Load()
			if g.syncer == nil {
				return nil, errors.New("no rooms.rules")
			}
			sum, err := g.syncer.Sync(ctx, g.admin, true)
			if err != nil {
				return nil, err
			}
			return status.DryRunLines(sum), nil
		},
		Recorder: &s.m.recent,
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

// snapshot reads what the status page shows now.
func (s *Server) snapshot(ctx context.Context) status.Snapshot {
	gen := s.running.Load()
	b := app.ReadBuild()
	in := status.Input{
		Config: gen.cfg, Version: b.Version, Revision: b.Revision, BuildTime: b.Time, GoVersion: b.GoVersion, Started: s.started,
		PingWiki:    s.store.Ping,
		SharedState: s.state.Degraded,
		Locks:       gen.auth.Locks(),
		Migration:   s.migrationCounts,
		Ended:       s.m.endedByReason(),
		LastGuard:   s.m.lastGuard.Load(),
	}
	if last := s.m.lastRoomSync.Load(); last != nil {
		in.LastSync = &status.SyncRun{At: last.at, Summary: last.sum, Err: last.err}
	}
	return in.Snapshot(ctx)
}

// migrationCounts counts the accounts with and without livechat_id, at
// most once a minute: a count reads the whole table, on the pool the
// sign-ins use.
func (s *Server) migrationCounts(ctx context.Context) *status.Migration {
	if c := s.m.migration.Load(); c != nil && time.Since(c.at) < time.Minute {
		return &c.counts
	}
	m := status.Migration{}
	if in, err := s.store.Inspect(ctx, nil); err != nil {
		m.Err = config.OneLine(err)
	} else {
		m.Accounts, m.WithoutLivechatID = in.Accounts, in.WithoutLivechatID
		s.m.migration.Store(&migrationAt{at: time.Now(), counts: m})
	}
	return &m
}

// migrationAt is a migration count and when it was made.
type migrationAt struct {
	at     time.Time
	counts status.Migration
}
