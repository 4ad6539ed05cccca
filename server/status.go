package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauthd"
)

// pageSource is what a status page reads, whichever process serves it:
// the running settings and decision maker, the store, the shared state,
// the relays attached and the settings' generation.
type pageSource struct {
	process  string
	m        *metrics
	degraded func(ctx context.Context) error // why the shared state is not shared now; nil: it is
	relays   *extauthd.Activity              // nil: no relay socket
	self     []status.Attached               // attached however relays are not: the chat server on a lone process's stdin
	reloads  *reloads
	started  time.Time
	running  func() (config.Config, *provider.Authenticator, *wikidb.Store)
}

// input is the status page's input common to serve and the daemon.
func (p *pageSource) input() status.Input {
	cfg, auth, store := p.running()
	b := app.ReadBuild()
	in := status.Input{
		Config: cfg, Process: p.process, Version: b.Version, Revision: b.Revision, BuildTime: b.Time, GoVersion: b.GoVersion, Started: p.started,
		PingWiki:    store.Ping,
		SharedState: p.degraded,
		Locks:       auth.Locks(),
		Migration:   func(ctx context.Context) *status.Migration { return p.m.migrationCounts(ctx, store) },
		Reload:      p.reloads.get(),
	}
	in.Attached = append(in.Attached, p.self...)
	if p.relays != nil {
		for _, r := range p.relays.Relays() {
			in.Attached = append(in.Attached, status.Attached{What: "ejabberd extauth process", PID: r.PID, Since: r.Since})
		}
	}
	return in
}

// handler is the status page of p, with its buttons.
func (p *pageSource) handler(cfg config.Config, hosts []string, snapshot func(context.Context) status.Snapshot, dryRun func(context.Context) ([]string, error), metrics http.Handler, log hclog.Logger) http.Handler {
	var secret []byte
	if cfg.Status.Secret != "" {
		secret = []byte(cfg.Status.Secret)
	}
	return status.New(status.Config{
		Secret:    secret,
		Snapshot:  snapshot,
		ClearLock: func(name string) bool { _, auth, _ := p.running(); return auth.Unlock(name) },
		IsAccount: func(ctx context.Context, name string) (bool, error) {
			_, auth, _ := p.running()
			return auth.UserExists(ctx, name, "")
		},
		DryRunRooms: dryRun,
		Recorder:    &p.m.recent,
		Metrics:     metrics,
		Log:         log,
		Hosts:       hosts,
	})
}

// serveStatus serves serve's status page on status.listen until ctx ends.
func (s *Server) serveStatus(ctx context.Context, cfg config.Config) error {
	log := s.log.Named("status")
	ln, err := net.Listen("tcp", cfg.Status.Listen)
	if err != nil {
		return err
	}
	dryRun := func(ctx context.Context) ([]string, error) {
		g := s.running.Load()
		if g.syncer == nil {
			return nil, errors.New("no rooms.rules")
		}
		sum, err := g.syncer.Sync(ctx, g.admin, true)
		if err != nil {
			return nil, err
		}
		return status.DryRunLines(sum), nil
	}
	h := s.page.handler(cfg, []string{cfg.Status.Listen, ln.Addr().String()}, s.snapshot, dryRun, nil, log)
	serveHTTPOn(ctx, ln, h, log, "status page")
	auth := "loopback, no secret"
	if cfg.Status.Secret != "" {
		auth = "basic authentication with status.secret"
	}
	log.Info("status page", "addr", ln.Addr().String(), "access", auth)
	return nil
}

// snapshot reads what serve's status page shows now.
func (s *Server) snapshot(ctx context.Context) status.Snapshot {
	in := s.page.input()
	in.Ended = s.m.endedByReason()
	in.LastGuard = s.m.lastGuard.Load()
	if last := s.m.lastRoomSync.Load(); last != nil {
		in.LastSync = &status.SyncRun{At: last.at, Summary: last.sum, Err: last.err}
	}
	return in.Snapshot(ctx)
}

// serveHTTPOn serves h on ln until ctx ends, with the timeouts of a
// page whose requests are short.
func serveHTTPOn(ctx context.Context, ln net.Listener, h http.Handler, log hclog.Logger, what string) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut) // the requests are short; a cut one is asked again
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what+" stopped", "error", err)
		}
	}()
}

// migrationCounts counts the accounts with and without livechat_id, at
// most once a minute: a count reads the whole table, on the pool the
// sign-ins use.
func (m *metrics) migrationCounts(ctx context.Context, store *wikidb.Store) *status.Migration {
	if c := m.migration.Load(); c != nil && time.Since(c.at) < time.Minute {
		return &c.counts
	}
	out := status.Migration{}
	if in, err := store.Inspect(ctx, nil); err != nil {
		out.Err = config.OneLine(err)
	} else {
		out.Accounts, out.WithoutLivechatID = in.Accounts, in.WithoutLivechatID
		m.migration.Store(&migrationAt{at: time.Now(), counts: out})
	}
	return &out
}

// migrationAt is a migration count and when it was made.
type migrationAt struct {
	at     time.Time
	counts status.Migration
}

// reloads is the settings' generation and the last reload's result, for
// the status page.
type reloads struct {
	mu sync.Mutex
	r  status.Reload
}

func newReloads(path string) *reloads {
	return &reloads{r: status.Reload{Generation: 1, Path: path, OK: true}}
}

// taken records a reload that made generation n, changing changed.
func (r *reloads) taken(n int, changed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.r = status.Reload{Generation: n, Path: r.r.Path, LastAt: time.Now(), OK: true, Changed: changed}
}

// refused records a reload refused for err; the generation stays.
func (r *reloads) refused(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.r = status.Reload{Generation: r.r.Generation, Path: r.r.Path, LastAt: time.Now(), Error: config.OneLine(err)}
}

func (r *reloads) get() *status.Reload {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.r
	return &c
}
