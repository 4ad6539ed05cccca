package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/extauthd"
	"livechat-auth/xmpp/guard"
	"livechat-auth/xmpp/rooms"
)

// Options are what serve is started with besides its first settings.
type Options struct {
	Path   string              // the config file, read again on each reload
	Getenv func(string) string // the LIVECHAT_AUTH_* overrides
}

// Server is "livechat-auth serve": the state that outlives a reload (the
// database, the metrics, the shared state, the sessions being ended), and
// the running generation of everything built from the settings.
type Server struct {
	opts    Options
	store   *wikidb.Store
	m       *metrics
	log     hclog.Logger
	state   *app.State
	guard   *guard.Guard
	running atomic.Pointer[generation]

	ln          net.Listener
	extauthDone <-chan struct{} // closed once the relays are let go; nil: no socket
	page        *pageSource
}

// generation is everything built from one version of the settings. It is
// complete before it runs, and replaced whole.
type generation struct {
	n       int // 1 at start, one more per reload
	cfg     config.Config
	handler http.Handler
	auth    *provider.Authenticator
	admin   account.Login      // the room-sync account's sign-in
	syncer  *rooms.Syncer      // nil: no rooms.rules
	stop    context.CancelFunc // ends its background work (JWKS refresh)
}

// Open opens what serve keeps for its whole life, builds the first
// generation from cfg and starts listening: serve.listen, the extauth
// relays' socket and its control socket (extauth.daemon_socket) and the
// status page (status.listen). Those other listeners stop with ctx.
// Errors name the setting at fault; nothing is left open.
func Open(ctx context.Context, cfg config.Config, opts Options, log hclog.Logger) (_ *Server, err error) {
	store, err := app.OpenStore(cfg.Wiki)
	if err != nil {
		return nil, err
	}
	socket := cfg.Extauth.DaemonSocket
	if socket == config.DaemonOff {
		socket = ""
	}
	m := newMetrics()
	st, err := app.OpenState(cfg, socket, true, log, m.series.StateUp)
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &Server{opts: opts, store: store, m: m, log: log, state: st, guard: guard.New(log.Named("guard"), nil)}
	s.page = &pageSource{process: "serve", m: m, degraded: st.Degraded, reloads: newReloads(opts.Path), started: time.Now(),
		running: func() (config.Config, *provider.Authenticator, *wikidb.Store) {
			g := s.running.Load()
			return g.cfg, g.auth, s.store
		}}
	if socket != "" {
		s.page.relays = &extauthd.Activity{}
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	first, err := s.build(ctx, 1, cfg)
	if err != nil {
		return nil, err
	}
	s.running.Store(first)
	s.m.series.Generation(1)
	if s.ln, err = net.Listen("tcp", cfg.Serve.Listen); err != nil {
		return nil, fmt.Errorf("serve.listen: %w", err)
	}
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start", "error", err)
	}
	if err := s.listen(ctx, cfg); err != nil {
		return nil, err
	}
	log.Info("serving", "addr", s.ln.Addr().String(), "version", app.ReadBuild().Version, "generation", 1, "on", strings.Join(status.FeaturesOn(cfg), ", "))
	return s, nil
}

// Close stops the running generation, then closes the listener, the
// shared state and the store.
func (s *Server) Close() {
	if g := s.running.Load(); g != nil {
		g.stop()
	}
	if s.ln != nil {
		s.ln.Close()
	}
	s.state.Close()
	s.store.Close()
}

// listen starts what listens beside the HTTP listener: the extauth
// relays' socket and its control socket, and the status page.
func (s *Server) listen(ctx context.Context, cfg config.Config) (err error) {
	if path := cfg.Extauth.DaemonSocket; path != "" && path != config.DaemonOff {
		if s.extauthDone, err = s.serveExtauthSocket(ctx, path, cfg.Extauth.RequestTimeout); err != nil {
			return fmt.Errorf("extauth.daemon_socket: %w", err)
		}
		if err := extauthd.ServeControl(ctx, extauthd.ControlSocket(path), s, s.log.Named("control")); err != nil {
			return fmt.Errorf("extauth.daemon_socket: control socket: %w", err)
		}
	}
	if cfg.Status.Listen != "" {
		if err := s.serveStatus(ctx, cfg); err != nil {
			return fmt.Errorf("status.listen: %w", err)
		}
	}
	return nil
}

// Run serves the running generation's routes, the room sync and the
// session checks until ctx ends, then drains: requests under way and the
// extauth relays have 10 s. Each signal on hangup reloads the settings.
// It returns an error, already logged, when the listener fails.
func (s *Server) Run(ctx context.Context, hangup <-chan os.Signal) error {
	go s.syncRooms(ctx)
	go s.watchSessions(ctx)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.running.Load().handler.ServeHTTP(w, r) }),
		// No read or write timeout: they would cut proxied WebSockets.
		// API routes have their own deadline (serve.request_timeout).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // a sign-in's URL is far smaller
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()
	for {
		select {
		case err := <-served:
			s.log.Error("stopped", "error", err)
			return err
		case <-ctx.Done():
			drain, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			if err := srv.Shutdown(drain); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("shutdown", "error", err)
			}
			if s.extauthDone != nil {
				select { // the relays' streams go back to them between two requests
				case <-s.extauthDone:
				case <-drain.Done():
				}
			}
			s.log.Info("stopped")
			return nil
		case <-hangup:
			s.reload(ctx)
		}
	}
}

// build makes generation n from cfg: keys, the decision maker and the
// routes, into locals. Nothing running changes. On error (a panic
// included) whatever it started is stopped and no generation returned.
func (s *Server) build(ctx context.Context, n int, cfg config.Config) (g *generation, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if p := recover(); p != nil { // net/http panics on a route it cannot take
			err = fmt.Errorf("build settings: %v", p)
		}
		if err != nil {
			cancel()
			g = nil
		}
	}()
	opts := s.state.Options()
	opts.RequireJWKS = true
	auth, tokens, err := app.NewAuthenticator(ctx, cfg, s.store, s.log, opts)
	if err != nil {
		return nil, err
	}
	g = &generation{n: n, cfg: cfg, auth: auth, admin: app.AdminLogin(cfg, auth, tokens.Minter), stop: cancel}
	if len(cfg.Rooms.Rules) > 0 {
		if g.syncer, err = app.NewSyncer(cfg, s.store, s.log.Named("rooms")); err != nil {
			return nil, err
		}
	}
	if g.handler, err = s.routes(cfg, auth, tokens, g.admin); err != nil {
		return nil, err
	}
	return g, nil
}

// reload loads the settings again and, when they load, validate and
// build whole, swaps them in. Otherwise it logs why, on one line, and the
// running generation stays.
func (s *Server) reload(ctx context.Context) {
	cur := s.running.Load()
	next, err := s.loadGeneration(ctx, cur.n+1)
	if err != nil {
		s.m.series.Reload(false)
		s.page.reloads.refused(err)
		s.log.Error("reload refused; keeping the running settings", "generation", cur.n, "error", config.OneLine(err))
		return
	}
	if later := restartOnly(cur.cfg, next.cfg); len(later) > 0 {
		s.log.Warn("these settings change only on restart; the running ones stay until then", "changed", strings.Join(later, ", "))
	}
	s.running.Store(next)
	cur.stop()
	s.m.series.Reload(true)
	s.m.series.Generation(next.n)
	changed := config.ChangedSections(cur.cfg, next.cfg)
	s.page.reloads.taken(next.n, changed)
	if len(changed) == 0 {
		changed = []string{"nothing (keys and secret files read afresh)"}
	}
	s.log.Info("reloaded", "generation", next.n, "changed", strings.Join(changed, ", "), "on", strings.Join(status.FeaturesOn(next.cfg), ", "))
}

func (s *Server) loadGeneration(ctx context.Context, n int) (*generation, error) {
	cfg, err := config.Load(s.opts.Path, s.opts.Getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid settings: %w", err)
	}
	return s.build(ctx, n, cfg)
}

// restartOnly names the settings that differ between a and b but that a
// reload does not apply.
func restartOnly(a, b config.Config) []string {
	var out []string
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"serve.listen", a.Serve.Listen != b.Serve.Listen}, {"wiki.*", a.Wiki != b.Wiki},
		{"extauth.daemon_socket", a.Extauth.DaemonSocket != b.Extauth.DaemonSocket}, {"token.used_file", a.Token.UsedFile != b.Token.UsedFile},
		{"log.*", a.Log != b.Log}, {"state.*", a.State != b.State}, {"status.*", a.Status != b.Status},
	} {
		if c.changed {
			out = append(out, c.name)
		}
	}
	return out
}

// Authenticate and UserExists decide with the running generation; the
// extauth socket asks through them.
func (s *Server) Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error) {
	return s.running.Load().auth.Authenticate(ctx, user, domain, password)
}

func (s *Server) UserExists(ctx context.Context, user, domain string) (bool, error) {
	return s.running.Load().auth.UserExists(ctx, user, domain)
}

// Locks, LockOf and Unlock serve the running generation's failure counts
// on the control socket.
func (s *Server) Locks() []provider.Lock { return s.running.Load().auth.Locks() }

func (s *Server) LockOf(user string) (provider.Lock, bool) { return s.running.Load().auth.LockOf(user) }

func (s *Server) Unlock(user string) bool { return s.running.Load().auth.Unlock(user) }

// serveExtauthSocket answers the extauth relays of ejabberd's pool on a
// Unix socket (mode 0660: give ejabberd's user the socket's group), with
// the running decision maker, counted as edge="extauth". It returns once
// listening; done is closed when ctx has ended and every relay has been
// let go.
func (s *Server) serveExtauthSocket(ctx context.Context, path string, timeout time.Duration) (done <-chan struct{}, err error) {
	log := s.log.Named("extauth")
	srv, err := extauth.New(s, log, timeout)
	if err != nil {
		return nil, err
	}
	srv.Observe(s.m.observer("extauth", extauth.CmdAuth, extauth.CmdIsUser, extauth.CmdMalformed))
	ln, err := extauthd.Listen(path, 0o660)
	if err != nil {
		return nil, err
	}
	log.Info("answering extauth relays", "socket", path)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := extauthd.ServeRelays(ctx, ln, srv, s.page.relays); err != nil {
			log.Error("extauth socket stopped", "error", err)
		}
	}()
	return stopped, nil
}
