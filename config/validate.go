package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"mellium.im/xmpp/jid"
)

// Validate checks every setting and returns all problems at once, each
// starting with its key. It changes nothing and never prints a secret.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }

	if len(c.Domains) == 0 {
		bad("domains", "required: the XMPP domains users sign in to (LIVECHAT_AUTH_DOMAINS)")
	}
	for _, d := range c.Domains {
		if j, err := jid.New("", d, ""); err != nil || j.Domainpart() != d {
			bad("domains", "\""+d+"\" is not a valid lower-case XMPP domain")
		}
	}
	switch {
	case c.Wiki.DSN == "":
		bad("wiki.dsn", "required: a go-sql-driver DSN such as reader:pw@tcp(127.0.0.1:3306)/tiki (LIVECHAT_AUTH_WIKI_DSN)")
	default:
		if _, err := mysql.ParseDSN(string(c.Wiki.DSN)); err != nil {
			bad(fromFile("wiki.dsn", "wiki.dsn_file", c.Wiki.DSNFile), "not a valid go-sql-driver DSN (user:password@tcp(host:3306)/dbname)")
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, d.String()+" must be positive")
		}
	}
	positive("wiki.query_timeout", c.Wiki.QueryTimeout)
	positive("wiki.prefs_refresh", c.Wiki.PrefsRefresh)
	positive("auth.failure_window", c.Auth.FailureWindow)
	positive("extauth.request_timeout", c.Extauth.RequestTimeout)
	if c.Wiki.MaxOpenConns < 1 {
		bad("wiki.max_open_conns", "must be at least 1")
	}
	if c.Wiki.AccountCache < 0 || c.Wiki.AccountCache > time.Minute {
		bad("wiki.account_cache", c.Wiki.AccountCache.String()+" is outside 0 (off) to 1m: a wiki change is seen this late")
	}
	if c.Auth.CacheTTL < 0 {
		bad("auth.cache_ttl", "must not be negative (0 turns the cache off)")
	}
	if c.Auth.CacheSize < 1 {
		bad("auth.cache_size", "must be at least 1")
	}
	if g := c.Auth.OutageGrace; g < 0 || g > 24*time.Hour {
		bad("auth.outage_grace", g.String()+" is not in [0, 24h] (0 turns the grace off)")
	}
	if c.Auth.MaxFailures < 0 {
		bad("auth.max_failures", "must not be negative (0 turns the limit off)")
	}
	if c.Extauth.RequestTimeout > 25*time.Second {
		bad("extauth.request_timeout", c.Extauth.RequestTimeout.String()+" leaves no margin under ejabberd's 30s limit (at most 25s)")
	}
	if c.Wiki.QueryTimeout > c.Extauth.RequestTimeout {
		bad("wiki.query_timeout", "must not exceed extauth.request_timeout")
	}
	if s := c.Extauth.DaemonSocket; s != "" && s != DaemonOff && !strings.HasPrefix(s, "/") {
		bad("extauth.daemon_socket", "\""+s+"\" is neither an absolute path nor off (empty: the automatic daemon)")
	}
	errs = append(errs, c.validateWeb()...)
	errs = append(errs, c.validateRooms()...)
	errs = append(errs, c.validateState()...)
	errs = append(errs, c.validateStatus()...)
	if c.Strict {
		for _, e := range c.ExposedFiles("") { // the config file's own: see StrictConfigFile
			errs = append(errs, errors.New(e+" (strict: true refuses it)"))
		}
	}
	if e := c.EndSessions; e.Bound < 2*time.Second || e.Bound > time.Hour {
		bad("end_sessions.bound", e.Bound.String()+" is not in [2s, 1h]")
	}
	switch e := c.EndSessions; {
	case e.Enabled && c.Rooms.JID == "":
		bad("end_sessions.enabled", "needs rooms.jid: the room-sync account ends the sessions, as a server administrator")
	case e.Enabled && c.Rooms.Password == "" && c.Token.SigningKeyFile == "" && c.Token.Secret == "":
		bad("end_sessions.enabled", "needs a way to sign rooms.jid in: rooms.password (or rooms.password_file), or a token key that can mint for it (token.signing_key_file or token.secret)")
	}
	if m := c.Migration; m.Enabled {
		switch {
		case c.Session.Key == "":
			bad("migration.enabled", "needs session.key: the migration API is signed with it")
		case c.Rooms.Server == "" && c.Rooms.JID == "":
			bad("migration.enabled", "needs rooms.server (or rooms.jid): where the chat server's client listener is")
		case m.EjabberdAPIURL == "" && (c.Rooms.JID == "" || c.Rooms.Password == "" && c.Token.SigningKeyFile == "" && c.Token.Secret == ""):
			bad("migration.enabled", "needs a way to ask the chat server which names are accounts: migration.ejabberd_api_url (ejabberd), or rooms.jid as a server administrator with its credential (Prosody)")
		}
	}
	switch c.Migration.OldAccount {
	case "remove", "retire":
	default:
		bad("migration.old_account", "must be remove or retire")
	}
	for _, u := range [][2]string{{"session.vcard_api_url", c.Session.VCardAPIURL}, {"migration.ejabberd_api_url", c.Migration.EjabberdAPIURL}} {
		if u[1] != "" && !strings.HasPrefix(u[1], "http://") && !strings.HasPrefix(u[1], "https://") {
			bad(u[0], "must be an http:// or https:// URL")
		}
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error", "off":
	default:
		bad("log.level", "\""+c.Log.Level+"\" is not one of trace, debug, info, warn, error, off")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "\""+c.Log.Format+"\" is not text or json")
	}
	return errors.Join(errs...)
}

// validateWeb checks the serve, token, session and proxy settings.
func (c *Config) validateWeb() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
		bad("serve.listen", "\""+c.Serve.Listen+"\" is not host:port")
	}
	if c.Serve.RequestTimeout <= 0 {
		bad("serve.request_timeout", "must be positive")
	}
	t := c.Token
	for _, alg := range t.Algorithms {
		switch alg {
		case "HS256", "RS256", "ES256", "EdDSA":
		default:
			bad("token.algorithms", "\""+alg+"\" is not one of HS256, RS256, ES256, EdDSA")
		}
	}
	if t.Secret != "" && len(t.Secret) < 32 {
		bad(fromFile("token.secret", "token.secret_file", t.SecretFile), "shorter than 32 bytes")
	}
	if t.PreviousSecret != "" {
		if len(t.PreviousSecret) < 32 {
			bad("token.previous_secret", "shorter than 32 bytes")
		}
		if t.PreviousSecretKID == "" || t.PreviousSecretKID == t.SecretKID {
			bad("token.previous_secret_kid", "required, and different from token.secret_kid")
		}
	}
	if t.JWKSURL != "" {
		u, err := url.Parse(t.JWKSURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("token.jwks_url", "not an https URL")
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			bad("token.jwks_url", "must be https: keys fetched in the clear could be forged on the way (http only on loopback)")
		}
	}
	if t.JWKSRefresh <= 0 {
		bad("token.jwks_refresh", "must be positive")
	}
	if t.Lifetime <= 0 || t.Lifetime > 10*time.Minute {
		bad("token.lifetime", t.Lifetime.String()+" is not in (0, 10m]")
	}
	if t.SubjectClaim == "" {
		bad("token.subject_claim", "required")
	}
	if t.UsedFile != "" && !filepath.IsAbs(t.UsedFile) {
		bad("token.used_file", "must be an absolute path")
	}
	switch t.Subject {
	case "livechat_id", "login", "user_id":
	default:
		bad("token.subject", "\""+t.Subject+"\" is not livechat_id, login or user_id")
	}
	s := c.Session
	if s.Key != "" {
		if len(s.Key) < 32 {
			bad(fromFile("session.key", "session.key_file", s.KeyFile), "shorter than 32 bytes")
		}
		if t.SigningKeyFile == "" && t.Secret == "" {
			bad("session.key", "the session API mints tokens: set token.signing_key_file or token.secret")
		}
	}
	if s.MaxSkew <= 0 {
		bad("session.max_skew", "must be positive")
	}
	if s.Domain != "" && !slices.Contains(c.Domains, s.Domain) {
		bad("session.domain", "\""+s.Domain+"\" is not one of domains")
	}
	if h := c.HTTPAuth; h.Enabled() {
		if h.Secret != "" && len(h.Secret) < 16 {
			bad(fromFile("httpauth.secret", "httpauth.secret_file", h.SecretFile), "shorter than 16 bytes")
		}
		if h.AllowNoSecret && h.Secret == "" {
			if host, _, err := net.SplitHostPort(c.Serve.Listen); err != nil || !isLoopback(host) {
				bad("httpauth.allow_no_secret", "only with a loopback serve.listen: the requests carry passwords")
			}
			if c.Session.Key != "" || c.Proxy.WebSocketUpstream != "" || c.Proxy.BOSHUpstream != "" {
				bad("httpauth.allow_no_secret", "not with the session API or the chat proxy on: their listener is reached through the wiki's web server")
			}
		}
		if !strings.HasPrefix(h.Path, "/") {
			bad("httpauth.path", "must start with /")
		}
		if h.Timeout <= 0 || h.Timeout > 10*time.Second {
			bad("httpauth.timeout", h.Timeout.String()+" is not in (0, 10s]")
		}
	}
	upstream := func(key, value string, schemes ...string) {
		if value == "" {
			return
		}
		if u, err := url.Parse(value); err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
			bad(key, "not a "+strings.Join(schemes, " or ")+" URL")
		}
	}
	upstream("proxy.websocket_upstream", c.Proxy.WebSocketUpstream, "ws", "wss")
	upstream("proxy.bosh_upstream", c.Proxy.BOSHUpstream, "http", "https")
	paths := map[string]string{}
	for _, p := range []struct{ key, path string }{
		{"proxy.websocket_path", c.Proxy.WebSocketPath}, {"proxy.bosh_path", c.Proxy.BOSHPath}, {"httpauth.path", c.HTTPAuth.Path},
	} {
		switch {
		case !strings.HasPrefix(p.path, "/"):
			bad(p.key, "must start with /")
		case strings.ContainsAny(p.path, "{} \t") || strings.HasSuffix(p.path, "/") && p.path != "/":
			bad(p.key, "\""+p.path+"\" must be a plain path (no braces, spaces or trailing /)")
		case reservedPaths[p.path]:
			bad(p.key, "\""+p.path+"\" is taken by livechat-auth itself")
		case paths[p.path] != "":
			bad(p.key, "\""+p.path+"\" is also "+paths[p.path])
		}
		paths[p.path] = p.key
	}
	return errs
}

// fromFile names a secret's setting in a problem: its key, or, when it
// was read from a file, the file key and the file.
func fromFile(key, fileKey, file string) string {
	if file == "" {
		return key
	}
	return fileKey + ": " + file
}

// reservedPaths are served by livechat-auth serve itself.
var reservedPaths = map[string]bool{"/": true, "/healthz": true, "/readyz": true, "/metrics": true, "/v1": true, "/v1/sessions": true, "/v1/keys": true, "/.well-known": true}

// isLoopback reports whether host is a loopback name or address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateRooms checks the room sync settings; they matter only when
// there are rules.
func (c *Config) validateRooms() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	r := c.Rooms
	if len(r.Rules) == 0 {
		return nil
	}
	if j, err := jid.Parse(r.JID); err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		bad("rooms.jid", "required: the bare JID of the sync account")
	}
	if r.Password == "" && c.Token.SigningKeyFile == "" && c.Token.Secret == "" {
		bad("rooms.password", "required with rules, unless a token key (token.signing_key_file or token.secret) can sign the sync account in")
	}
	if r.Server != "" {
		if _, _, err := net.SplitHostPort(r.Server); err != nil {
			bad("rooms.server", "\""+r.Server+"\" is not host:port")
		}
	}
	if r.TLS != "starttls" && r.TLS != "none" {
		bad("rooms.tls", "\""+r.TLS+"\" is not starttls or none")
	}
	if r.TLS == "none" {
		if host, _, err := net.SplitHostPort(r.Server); err != nil || !isLoopback(host) {
			bad("rooms.tls", "none only with a loopback rooms.server: the password would travel in the clear")
		}
	}
	if r.Interval < 0 {
		bad("rooms.interval", "must not be negative (0: no periodic sync)")
	}
	if r.RoomTimeout <= 0 {
		bad("rooms.room_timeout", "must be positive")
	}
	checkRoom := func(key, room string) {
		if _, err := c.RoomJID(room); err != nil {
			bad(key, err.Error())
		}
	}
	for i, rule := range r.Rules {
		key := fmt.Sprintf("rooms.rules[%d]", i)
		if rule.Group == "" {
			bad(key+".group", "required")
		}
		switch rule.Affiliation {
		case "owner", "admin", "member", "outcast":
		default:
			bad(key+".affiliation", "\""+rule.Affiliation+"\" is not owner, admin, member or outcast")
		}
		if len(rule.Rooms) == 0 {
			bad(key+".rooms", "required")
		}
		for _, room := range rule.Rooms {
			checkRoom(key+".rooms", room)
		}
	}
	for room := range r.Settings {
		checkRoom("rooms.settings", room)
	}
	return errs
}

// RoomJID returns a room's bare JID: room itself when it holds a domain,
// else room@rooms.service.
func (c *Config) RoomJID(room string) (jid.JID, error) {
	s := room
	if !strings.Contains(room, "@") {
		if c.Rooms.Service == "" {
			return jid.JID{}, fmt.Errorf("room %q has no domain and rooms.service is not set", room)
		}
		s = room + "@" + c.Rooms.Service
	}
	j, err := jid.Parse(s)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return jid.JID{}, fmt.Errorf("room %q is not a bare room JID", room)
	}
	return j, nil
}
