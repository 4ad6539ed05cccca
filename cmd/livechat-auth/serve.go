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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/session"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/httpauth"
	"livechat-auth/xmpp/webproxy"
)

var _ session.Accounts = (*wikidb.Store)(nil)

// runServe runs the HTTP listener until ctx ends (SIGINT, SIGTERM), then
// drains it. SIGHUP reloads the settings and keys without dropping
// connections.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
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

	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{
		QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: cfg.Wiki.MaxOpenConns, PrefsRefresh: cfg.Wiki.PrefsRefresh,
	})
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer store.Close()
	m := newMetrics()
	used := token.NewUsedTokens() // one record of used tokens for the process's life, reloads included
	h, auth, stopBuild, err := buildHandler(ctx, cfg, store, m, log, used)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	var current atomic.Pointer[http.Handler]
	current.Store(&h)
	shared := &currentAuth{}
	shared.p.Store(auth)

	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Serve.Listen, "error", err)
		return exitError
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) }),
		// No read or write timeout: they would cut proxied WebSockets.
		// API routes have their own deadline (serve.request_timeout).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // a sign-in's URL is far smaller
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start", "error", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version)
	if path := cfg.Extauth.DaemonSocket; path != "" {
		if err := serveExtauthSocket(ctx, path, cfg, shared, log.Named("extauth")); err != nil {
			log.Error("cannot serve the extauth socket", "path", path, "error", err)
			return exitError
		}
	}
	var live atomic.Pointer[config.Config] // the running settings, for the room sync loop
	live.Store(&cfg)
	go syncLoop(ctx, func() config.Config { return *live.Load() }, store, m, log.Named("rooms")) // ends with ctx
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for running := true; running; {
		select {
		case err := <-served:
			log.Error("stopped", "error", err)
			stopBuild()
			return exitError
		case <-ctx.Done():
			running = false
		case <-hup:
			next, err := config.Load(fs.Lookup("config").Value.String(), getenv)
			if err == nil {
				err = next.Validate()
			}
			if err != nil {
				log.Error("reload refused: invalid settings; keeping the running ones", "error", err)
				continue
			}
			if next.Serve.Listen != cfg.Serve.Listen || next.Wiki != cfg.Wiki {
				log.Warn("serve.listen and wiki.* change only on restart")
			}
			nh, nauth, stopNext, err := buildHandler(ctx, next, store, m, log, used)
			if err != nil {
				log.Error("reload refused; keeping the running settings", "error", err)
				continue
			}
			current.Store(&nh)
			shared.p.Store(nauth)
			stopBuild()
			stopBuild, cfg = stopNext, next
			live.Store(&next)
			log.Info("reloaded settings and keys")
		}
	}
	drain, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(drain); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "error", err)
	}
	stopBuild()
	log.Info("stopped")
	return exitOK
}

// buildHandler makes everything that depends on the reloadable settings:
// keys, the decision maker and the routes. stop ends its background work.
func buildHandler(ctx context.Context, cfg config.Config, store *wikidb.Store, m *metrics, log hclog.Logger, used *token.UsedTokens) (_ http.Handler, _ *provider.Authenticator, stop func(), err error) {
	ctx, stop = context.WithCancel(ctx)
	defer func() {
		if p := recover(); p != nil { // net/http panics on a route it cannot take
			err = fmt.Errorf("routes: %v", p)
		}
		if err != nil {
			stop()
		}
	}()
	auth, tokens, err := newAuthenticator(ctx, cfg, store, log, used)
	if err != nil {
		return nil, nil, nil, err
	}
	mux, err := routes(cfg, auth, store, tokens, m, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return mux, auth, stop, nil
}

// currentAuth is the decision maker of the running settings, swapped on
// reload; the extauth socket asks through it.
type currentAuth struct {
	p atomic.Pointer[provider.Authenticator]
}

func (c *currentAuth) Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error) {
	return c.p.Load().Authenticate(ctx, user, domain, password)
}

func (c *currentAuth) UserExists(ctx context.Context, user, domain string) (bool, error) {
	return c.p.Load().UserExists(ctx, user, domain)
}

// routes builds the HTTP handlers the settings turn on.
func routes(cfg config.Config, auth *provider.Authenticator, store *wikidb.Store, tokens tokenSetup, m *metrics, log hclog.Logger) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	api := func(h http.Handler) http.Handler {
		return http.TimeoutHandler(h, cfg.Serve.RequestTimeout, `{"error":"timeout","message":"the request took too long"}`)
	}
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n") // the client went away: nothing to do
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := store.Ping(r.Context()); err != nil {
			log.Warn("not ready", "error", err)
			http.Error(w, "wiki database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n") // the client went away: nothing to do
	}))
	mux.Handle("GET /metrics", m.handler())
	if cfg.Session.Key != "" {
		if tokens.minter == nil {
			return nil, errors.New("session.key: the session API needs a key to mint tokens with")
		}
		domain := cfg.Session.Domain
		if domain == "" {
			domain = cfg.Domains[0]
		}
		h, err := session.New(store, tokens.minter, log.Named("session"), session.Config{
			Key: []byte(cfg.Session.Key), MaxSkew: cfg.Session.MaxSkew, Domain: domain,
			Subject: provider.Subject(cfg.Token.Subject), SubjectClaim: cfg.Token.SubjectClaim,
			WebSocketURL: cfg.Session.WebSocketURL, BOSHURL: cfg.Session.BOSHURL,
			MigrationURL: cfg.Session.MigrationURL, AvatarURL: cfg.Session.AvatarURL,
			Observe: m.observer("session"),
		})
		if err != nil {
			return nil, err
		}
		mux.Handle("/v1/sessions", api(h))
	}
	if cfg.HTTPAuth.Enabled() {
		h, err := httpauth.New(auth, log.Named("httpauth"), httpauth.Config{
			Base: cfg.HTTPAuth.Path, Secret: []byte(cfg.HTTPAuth.Secret), Timeout: cfg.HTTPAuth.Timeout,
			NoSecret: cfg.HTTPAuth.Secret == "" && cfg.HTTPAuth.AllowNoSecret,
			Observe:  m.observer("httpauth"),
		})
		if err != nil {
			return nil, err
		}
		mux.Handle(cfg.HTTPAuth.Path+"/", h)
	}
	if tokens.keys != nil {
		mux.Handle("/v1/keys/signing.pem", tokens.keys.PEM())
		mux.Handle("/.well-known/jwks.json", tokens.keys.JWKS())
	}
	for _, p := range []struct{ path, upstream string }{
		{cfg.Proxy.WebSocketPath, cfg.Proxy.WebSocketUpstream},
		{cfg.Proxy.BOSHPath, cfg.Proxy.BOSHUpstream},
	} {
		if p.upstream == "" {
			continue
		}
		h, err := webproxy.New(p.path, p.upstream, cfg.Proxy.HostHeader, log.Named("proxy"))
		if err != nil {
			return nil, err
		}
		mux.Handle(p.path, h)
		mux.Handle(p.path+"/", h)
	}
	return mux, nil
}

// serveExtauthSocket answers the extauth relays of ejabberd's pool on a
// Unix socket (mode 0660: give ejabberd's user the socket's group), with
// one decision maker shared by all of them. It returns once listening.
func serveExtauthSocket(ctx context.Context, path string, cfg config.Config, auth extauth.Authenticator, log hclog.Logger) error {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil { // a stale socket from an earlier run
			return err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return err
	}
	srv, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("answering extauth relays", "socket", path)
	go func() {
		if err := srv.ServeListener(ctx, ln); err != nil {
			log.Error("extauth socket stopped", "error", err)
		}
	}()
	return nil
}
