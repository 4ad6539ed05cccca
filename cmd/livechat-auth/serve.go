package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

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

// runServe runs the HTTP listener until ctx ends (SIGINT, SIGTERM), then
// drains it. SIGHUP reloads the settings and keys without dropping
// connections; settings that cannot be loaded whole are refused and the
// running ones kept.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	hup := make(chan os.Signal, 1) // from the start: SIGHUP's default action ends the process
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	defer closeLog()
	log = log.Named("serve")
	cfgPath := fs.Lookup("config").Value.String()
	warnSettings(log, cfg, cfgPath)
	cannotStart := func(err error) int {
		if cfg.Log.File != "" { // stderr gets the line below; the log file gets it too
			log.Error("cannot start", "error", config.OneLine(err))
		}
		return fail(stderr, "serve", err)
	}

	d, closeDaemon, err := openDaemon(ctx, cfg, log)
	if err != nil {
		return cannotStart(err)
	}
	defer closeDaemon()
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		return cannotStart(fmt.Errorf("serve.listen: %w", err))
	}
	if err := d.store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start", "error", err)
	}
	extauthDone, err := startListeners(ctx, cfg, d, log)
	if err != nil {
		ln.Close()
		return cannotStart(err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version, "generation", 1, "on", strings.Join(status.FeaturesOn(cfg), ", "))
	go syncRooms(ctx, d, log.Named("rooms")) // ends with ctx
	go watchSessions(ctx, d)                 // ends with ctx
	return d.serveHTTP(ctx, ln, extauthDone, hup, func() { d.reload(ctx, cfgPath, getenv) })
}

// openDaemon opens what serve keeps for its whole life (the wiki store,
// the metrics, the shared state) and builds the first generation from
// cfg. Its close function stops the running generation, then closes the
// shared state and the store.
func openDaemon(ctx context.Context, cfg config.Config, log hclog.Logger) (*daemon, func(), error) {
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{
		QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: cfg.Wiki.MaxOpenConns, PrefsRefresh: cfg.Wiki.PrefsRefresh,
		AccountCache: cfg.Wiki.AccountCache,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("wiki.dsn: %w", err)
	}
	socket := cfg.Extauth.DaemonSocket
	if socket == config.DaemonOff {
		socket = ""
	}
	m := newMetrics()
	st, err := openSharedState(cfg, socket, true, log, m.stateUp)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	d := &daemon{store: store, m: m, log: log, state: st, guard: guard.New(log.Named("guard"), nil)}
	first, err := d.build(ctx, 1, cfg)
	if err != nil {
		st.Close()
		store.Close()
		return nil, nil, err
	}
	d.running.Store(first)
	d.m.series.Generation(1)
	return d, func() {
		d.running.Load().stop()
		st.Close()
		store.Close()
	}, nil
}

// startListeners starts what listens beside the HTTP listener: the
// extauth relays' socket and its control socket (extauth.daemon_socket),
// and the status page (status.listen). extauthDone is closed once the
// relays are let go after ctx ends; nil: no socket.
func startListeners(ctx context.Context, cfg config.Config, d *daemon, log hclog.Logger) (extauthDone <-chan struct{}, err error) {
	if path := cfg.Extauth.DaemonSocket; path != "" && path != config.DaemonOff {
		if extauthDone, err = serveExtauthSocket(ctx, path, cfg, d, d.m.observer("extauth", extauth.CmdAuth, extauth.CmdIsUser, extauth.CmdMalformed), log.Named("extauth")); err != nil {
			return nil, fmt.Errorf("extauth.daemon_socket: %w", err)
		}
		if err := serveControl(ctx, extauthd.ControlSocket(path), d, log.Named("control")); err != nil {
			return nil, fmt.Errorf("extauth.daemon_socket: control socket: %w", err)
		}
	}
	if cfg.Status.Listen != "" {
		if err := serveStatus(ctx, cfg, d, time.Now(), log.Named("status")); err != nil {
			return nil, fmt.Errorf("status.listen: %w", err)
		}
	}
	return extauthDone, nil
}

// serveHTTP serves the running generation's routes on ln until ctx ends,
// then drains: requests under way and the extauth relays (extauthDone;
// nil: none) have 10 s. Each signal on hup calls reload. It returns the
// exit code.
func (d *daemon) serveHTTP(ctx context.Context, ln net.Listener, extauthDone <-chan struct{}, hup <-chan os.Signal, reload func()) int {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.running.Load().handler.ServeHTTP(w, r) }),
		// No read or write timeout: they would cut proxied WebSockets.
		// API routes have their own deadline (serve.request_timeout).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // a sign-in's URL is far smaller
		ErrorLog:          d.log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case err := <-served:
			d.log.Error("stopped", "error", err)
			return exitError
		case <-ctx.Done():
			drain, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			if err := srv.Shutdown(drain); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				d.log.Warn("shutdown", "error", err)
			}
			if extauthDone != nil {
				select { // the relays' streams go back to them between two requests
				case <-extauthDone:
				case <-drain.Done():
				}
			}
			d.log.Info("stopped")
			return exitOK
		case <-hup:
			reload()
		}
	}
}

// daemon is the state of "livechat-auth serve" that outlives a reload:
// the database, the metrics, the shared state (used tokens, failure
// counts, verified passwords, used session requests), and the running
// generation of everything built from the settings.
type daemon struct {
	store   *wikidb.Store
	m       *metrics
	log     hclog.Logger
	state   *sharedState
	guard   *guard.Guard // the sessions it watches outlive a reload
	running atomic.Pointer[generation]
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

// build makes generation n from cfg: keys, the decision maker and the
// routes, into locals. Nothing running changes. On error (a panic
// included) whatever it started is stopped and no generation returned.
func (d *daemon) build(ctx context.Context, n int, cfg config.Config) (g *generation, err error) {
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
	opts := d.state.options()
	opts.requireJWKS = true
	auth, tokens, err := newAuthenticator(ctx, cfg, d.store, d.log, opts)
	if err != nil {
		return nil, err
	}
	g = &generation{n: n, cfg: cfg, auth: auth, admin: adminLogin(cfg, auth, tokens.minter), stop: cancel}
	if len(cfg.Rooms.Rules) > 0 {
		if g.syncer, err = newSyncer(cfg, d.store, d.log.Named("rooms")); err != nil {
			return nil, err
		}
	}
	if g.handler, err = d.routes(cfg, auth, tokens, g.admin); err != nil {
		return nil, err
	}
	return g, nil
}

// reload loads the settings at path again and, when they load, validate
// and build whole, swaps them in. Otherwise it logs why, on one line, and
// the running generation stays.
func (d *daemon) reload(ctx context.Context, path string, getenv func(string) string) {
	cur := d.running.Load()
	next, err := d.loadGeneration(ctx, path, getenv, cur.n+1)
	if err != nil {
		d.m.series.Reload(false)
		d.log.Error("reload refused; keeping the running settings", "generation", cur.n, "error", config.OneLine(err))
		return
	}
	if restartOnly(cur.cfg, next.cfg) {
		d.log.Warn("serve.listen, wiki.*, extauth.daemon_socket, token.used_file and log.* change only on restart")
	}
	d.running.Store(next)
	cur.stop()
	d.m.series.Reload(true)
	d.m.series.Generation(next.n)
	changed := config.ChangedSections(cur.cfg, next.cfg)
	if len(changed) == 0 {
		changed = []string{"nothing (keys and secret files read afresh)"}
	}
	d.log.Info("reloaded", "generation", next.n, "changed", strings.Join(changed, ", "), "on", strings.Join(status.FeaturesOn(next.cfg), ", "))
}

func (d *daemon) loadGeneration(ctx context.Context, path string, getenv func(string) string, n int) (*generation, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid settings: %w", err)
	}
	return d.build(ctx, n, cfg)
}

// restartOnly reports whether settings that a reload does not apply
// differ.
func restartOnly(a, b config.Config) bool {
	return a.Serve.Listen != b.Serve.Listen || a.Wiki != b.Wiki || a.Extauth.DaemonSocket != b.Extauth.DaemonSocket ||
		a.Token.UsedFile != b.Token.UsedFile || a.Log != b.Log || a.State != b.State || a.Status != b.Status
}

// Authenticate and UserExists decide with the running generation; the
// extauth socket asks through them.
func (d *daemon) Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error) {
	return d.running.Load().auth.Authenticate(ctx, user, domain, password)
}

func (d *daemon) UserExists(ctx context.Context, user, domain string) (bool, error) {
	return d.running.Load().auth.UserExists(ctx, user, domain)
}

// serveExtauthSocket answers the extauth relays of ejabberd's pool on a
// Unix socket (mode 0660: give ejabberd's user the socket's group), with
// one decision maker shared by all of them. It returns once listening;
// done is closed when ctx has ended and every relay has been let go.
func serveExtauthSocket(ctx context.Context, path string, cfg config.Config, auth extauth.Authenticator, observe provider.Observer, log hclog.Logger) (done <-chan struct{}, err error) {
	srv, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		return nil, err
	}
	srv.Observe(observe) // the relayed decisions of ejabberd's pool, edge="extauth"
	ln, err := extauthd.Listen(path, 0o660)
	if err != nil {
		return nil, err
	}
	log.Info("answering extauth relays", "socket", path)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := extauthd.ServeRelays(ctx, ln, srv, nil); err != nil {
			log.Error("extauth socket stopped", "error", err)
		}
	}()
	return stopped, nil
}
