package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/session"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/httpauth"
	"livechat-auth/xmpp/webproxy"
)

var _ session.Accounts = (*wikidb.Store)(nil)

// runServe runs the HTTP listener until ctx ends (SIGINT, SIGTERM), then
// drains it.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "livechat-auth serve:", err)
		return exitError
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "livechat-auth serve:", err)
		return exitError
	}
	defer closeLog()
	log = log.Named("serve")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	auth, store, tokens, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer store.Close()
	mux, err := routes(cfg, auth, store, tokens, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Serve.Listen, "error", err)
		return exitError
	}
	srv := &http.Server{
		Handler: mux,
		// No read or write timeout: they would cut proxied WebSockets.
		// API routes have their own deadline (serve.request_timeout).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // a sign-in's URL is far smaller
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start", "error", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		log.Error("stopped", "error", err)
		return exitError
	case <-ctx.Done():
	}
	drain, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(drain); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "error", err)
	}
	log.Info("stopped")
	return exitOK
}

// routes builds the HTTP handlers the settings turn on.
func routes(cfg config.Config, auth *provider.Authenticator, store *wikidb.Store, tokens tokenSetup, log hclog.Logger) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	api := func(h http.Handler) http.Handler {
		return http.TimeoutHandler(h, cfg.Serve.RequestTimeout, `{"error":"timeout","message":"the request took too long"}`)
	}
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n") // the client went away: nothing to do
	}))
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
