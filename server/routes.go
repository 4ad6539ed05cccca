package server

import (
	"errors"
	"io"
	"net/http"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/migration"
	"livechat-auth/provider/session"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/httpauth"
	"livechat-auth/xmpp/webproxy"
)

var (
	_ session.Resolver = (*provider.Authenticator)(nil)
	_ session.Profiles = (*wikidb.Store)(nil)
)

// routes builds the HTTP handlers the settings turn on, for one
// generation: health and metrics always; the session API, the migration
// API, the HTTP auth contract, the published keys and the chat proxy as
// configured.
func (s *Server) routes(cfg config.Config, auth *provider.Authenticator, tokens app.Tokens, admin account.Login) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	s.healthRoutes(mux)
	api := func(h http.Handler) http.Handler {
		return http.TimeoutHandler(h, cfg.Serve.RequestTimeout, `{"error":"timeout","message":"the request took too long"}`)
	}
	if cfg.Session.Key != "" {
		h, err := s.sessionAPI(cfg, auth, tokens)
		if err != nil {
			return nil, err
		}
		mux.Handle("/v1/sessions", api(h))
	}
	if cfg.Migration.Enabled {
		h, err := app.NewMigration(cfg, auth, s.store, s.state.Seen(), s.m.observer("migration", "claim", "suggest", "complete"), admin, s.log.Named("migration"))
		if err != nil {
			return nil, err
		}
		mux.Handle(migration.Prefix, api(h))
	}
	if cfg.HTTPAuth.Enabled() {
		h, err := httpauth.New(endingAware{auth, s.guard}, s.log.Named("httpauth"), httpauth.Config{
			Base: cfg.HTTPAuth.Path, Secret: []byte(cfg.HTTPAuth.Secret), Timeout: cfg.HTTPAuth.Timeout,
			NoSecret: cfg.HTTPAuth.Secret == "" && cfg.HTTPAuth.AllowNoSecret,
			Observe:  s.m.observer("httpauth", "check_password", "user_exists"),
		})
		if err != nil {
			return nil, err
		}
		mux.Handle(cfg.HTTPAuth.Path+"/", h)
	}
	if tokens.Keys != nil {
		mux.Handle("/v1/keys/signing.pem", tokens.Keys.PEM())
		mux.Handle("/.well-known/jwks.json", tokens.Keys.JWKS())
	}
	if err := s.proxyRoutes(mux, cfg.Proxy); err != nil {
		return nil, err
	}
	return mux, nil
}

// healthRoutes answers /healthz (the process is up), /readyz (the wiki
// database answers, and whether the shared state does) and /metrics.
func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n") // the client went away: nothing to do
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.store.Ping(r.Context()); err != nil {
			s.log.Warn("not ready", "error", err)
			http.Error(w, "wiki database unavailable", http.StatusServiceUnavailable)
			return
		}
		if err := s.state.Degraded(r.Context()); err != nil {
			// Passwords still sign in: the node stays in service, and
			// says what it cannot do.
			_, _ = io.WriteString(w, "degraded: "+err.Error()+"; tokens and session requests are refused, failure limits are per process\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n") // the client went away: nothing to do
	}))
	mux.Handle("GET /metrics", s.m.series.Handler())
}

// sessionAPI is the wiki-facing session API (session.key), with the
// vCards following the wiki when session.vcard_api_url is set.
func (s *Server) sessionAPI(cfg config.Config, auth *provider.Authenticator, tokens app.Tokens) (http.Handler, error) {
	if tokens.Minter == nil {
		return nil, errors.New("session.key: the session API needs a key to mint tokens with")
	}
	var granted func(string, session.Profile)
	if cfg.Session.VCardAPIURL != "" {
		granted = newVCards(cfg.Session.VCardAPIURL, s.log.Named("vcard")).granted
	}
	return session.New(auth, s.store, tokens.Minter, s.log.Named("session"), session.Config{
		Key: []byte(cfg.Session.Key), MaxSkew: cfg.Session.MaxSkew, Domain: cfg.ChatDomain(), Seen: s.state.Seen(),
		SubjectClaim: cfg.Token.SubjectClaim,
		WebSocketURL: cfg.Session.WebSocketURL, BOSHURL: cfg.Session.BOSHURL,
		MigrationURL: cfg.Session.MigrationURL, AvatarURL: cfg.Session.AvatarURL,
		Observe: s.m.observer("session", "session"),
		Granted: granted,
	})
}

// proxyRoutes forwards the chat WebSocket and BOSH paths upstream, when
// an upstream is set.
func (s *Server) proxyRoutes(mux *http.ServeMux, cfg config.Proxy) error {
	for _, p := range []struct{ path, upstream string }{
		{cfg.WebSocketPath, cfg.WebSocketUpstream},
		{cfg.BOSHPath, cfg.BOSHUpstream},
	} {
		if p.upstream == "" {
			continue
		}
		h, err := webproxy.New(p.path, p.upstream, cfg.HostHeader, s.log.Named("proxy"))
		if err != nil {
			return err
		}
		mux.Handle(p.path, h)
		mux.Handle(p.path+"/", h)
	}
	return nil
}
