package config

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"mellium.im/xmpp/jid"
)

// Validate checks every setting and returns all problems at once, each
// starting with its key. It changes nothing and never prints a secret.
//
// Each area has its own validator, returning that area's problems; a
// check that spans areas belongs to the area of the key it names.
func (c *Config) Validate() error {
	var errs []error
	for _, validate := range []func() []error{
		c.validateDomains,
		c.validateWiki,
		c.validateAuth,
		c.validateExtauth,
		c.validateServe,
		c.validateToken,
		c.validateSession,
		c.validateHTTPAuth,
		c.validateProxy,
		c.validatePaths,
		c.validateRooms,
		c.validateState,
		c.validateStatus,
		c.validateStrict,
		c.validateEndSessions,
		c.validateMigration,
		c.validateLog,
	} {
		errs = append(errs, validate()...)
	}
	return errors.Join(errs...)
}

// validateDomains checks domains: at least one, each a valid lower-case
// XMPP domain.
func (c *Config) validateDomains() []error {
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
	return errs
}

// validateWiki checks the wiki.* settings: the DSN, the timeouts (the
// query's within extauth.request_timeout), the pool and the cache.
func (c *Config) validateWiki() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	w := c.Wiki
	switch {
	case w.DSN == "":
		bad("wiki.dsn", "required: a go-sql-driver DSN such as reader:pw@tcp(127.0.0.1:3306)/tiki (LIVECHAT_AUTH_WIKI_DSN)")
	default:
		if _, err := mysql.ParseDSN(string(w.DSN)); err != nil {
			bad(fromFile("wiki.dsn", "wiki.dsn_file", w.DSNFile), "not a valid go-sql-driver DSN (user:password@tcp(host:3306)/dbname)")
		}
	}
	if w.QueryTimeout <= 0 {
		bad("wiki.query_timeout", w.QueryTimeout.String()+" must be positive")
	}
	if w.PrefsRefresh <= 0 {
		bad("wiki.prefs_refresh", w.PrefsRefresh.String()+" must be positive")
	}
	if w.MaxOpenConns < 1 {
		bad("wiki.max_open_conns", "must be at least 1")
	}
	if w.AccountCache < 0 || w.AccountCache > time.Minute {
		bad("wiki.account_cache", w.AccountCache.String()+" is outside 0 (off) to 1m: a wiki change is seen this late")
	}
	if w.QueryTimeout > c.Extauth.RequestTimeout {
		bad("wiki.query_timeout", "must not exceed extauth.request_timeout")
	}
	return errs
}

// validateAuth checks the auth.* settings: the verified-password cache,
// the outage grace and the failure limit.
func (c *Config) validateAuth() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	a := c.Auth
	if a.FailureWindow <= 0 {
		bad("auth.failure_window", a.FailureWindow.String()+" must be positive")
	}
	if a.CacheTTL < 0 {
		bad("auth.cache_ttl", "must not be negative (0 turns the cache off)")
	}
	if a.CacheSize < 1 {
		bad("auth.cache_size", "must be at least 1")
	}
	if g := a.OutageGrace; g < 0 || g > 24*time.Hour {
		bad("auth.outage_grace", g.String()+" is not in [0, 24h] (0 turns the grace off)")
	}
	if a.MaxFailures < 0 {
		bad("auth.max_failures", "must not be negative (0 turns the limit off)")
	}
	return errs
}

// validateExtauth checks the extauth.* settings: a request budget well
// under ejabberd's 30s, and the daemon socket.
func (c *Config) validateExtauth() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	e := c.Extauth
	if e.RequestTimeout <= 0 {
		bad("extauth.request_timeout", e.RequestTimeout.String()+" must be positive")
	}
	if e.RequestTimeout > 25*time.Second {
		bad("extauth.request_timeout", e.RequestTimeout.String()+" leaves no margin under ejabberd's 30s limit (at most 25s)")
	}
	if s := e.DaemonSocket; s != "" && s != DaemonOff && !strings.HasPrefix(s, "/") {
		bad("extauth.daemon_socket", "\""+s+"\" is neither an absolute path nor off (empty: the automatic daemon)")
	}
	if l := e.Listen; l != "" {
		host, _, err := net.SplitHostPort(l)
		ip := net.ParseIP(host)
		switch {
		case err != nil:
			bad("extauth.listen", "\""+l+"\" is not host:port, e.g. 127.0.0.1:8486")
		case e.DaemonSocket != "" && e.DaemonSocket != DaemonOff:
			bad("extauth.listen", "nothing would listen there: the extauth processes relay to serve (extauth.daemon_socket), whose metrics are at serve.listen and its page at status.listen")
		case sameListener(l, c.Serve.Listen) || (c.Status.Listen != "" && sameListener(l, c.Status.Listen)):
			bad("extauth.listen", "must differ from serve.listen and status.listen: serve may run with the same settings")
		case c.Status.Secret == "" && host != "localhost" && (ip == nil || !ip.IsLoopback()):
			bad("extauth.listen", "\""+l+"\" is not a loopback address: set status.secret (or status.secret_file) too")
		}
	}
	return errs
}

// validateStrict reports, under strict: true, each secret file every
// user may read.
func (c *Config) validateStrict() []error {
	if !c.Strict {
		return nil
	}
	var errs []error
	for _, e := range c.ExposedFiles("") { // the config file's own: see StrictConfigFile
		errs = append(errs, errors.New(e.String()+" (strict: true refuses it)"))
	}
	return errs
}

// validateEndSessions checks the end_sessions.* settings: the bound,
// and, when enabled, an administrator account that can sign in.
func (c *Config) validateEndSessions() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	e := c.EndSessions
	if e.Bound < 2*time.Second || e.Bound > time.Hour {
		bad("end_sessions.bound", e.Bound.String()+" is not in [2s, 1h]")
	}
	switch {
	case e.Enabled && c.Rooms.JID == "":
		bad("end_sessions.enabled", "needs rooms.jid: the room-sync account ends the sessions, as a server administrator")
	case e.Enabled && c.Rooms.Password == "" && !c.Token.mints():
		bad("end_sessions.enabled", "needs a way to sign rooms.jid in: rooms.password (or rooms.password_file), or a token key that can mint for it (token.signing_key_file or token.secret)")
	}
	return errs
}

// validateMigration checks the migration.* settings: when enabled, the
// session key that signs the API and a way to reach the chat server.
func (c *Config) validateMigration() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	m := c.Migration
	if m.Enabled {
		switch {
		case c.Session.Key == "":
			bad("migration.enabled", "needs session.key: the migration API is signed with it")
		case c.Rooms.Server == "" && c.Rooms.JID == "":
			bad("migration.enabled", "needs rooms.server (or rooms.jid): where the chat server's client listener is")
		case m.EjabberdAPIURL == "" && (c.Rooms.JID == "" || c.Rooms.Password == "" && !c.Token.mints()):
			bad("migration.enabled", "needs a way to ask the chat server which names are accounts: migration.ejabberd_api_url (ejabberd), or rooms.jid as a server administrator with its credential (Prosody)")
		}
	}
	switch m.OldAccount {
	case "remove", "retire":
	default:
		bad("migration.old_account", "must be remove or retire")
	}
	if u := m.EjabberdAPIURL; u != "" && !isHTTPURL(u) {
		bad("migration.ejabberd_api_url", "must be an http:// or https:// URL")
	}
	return errs
}

// validateLog checks log.level and log.format.
func (c *Config) validateLog() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error", "off":
	default:
		bad("log.level", "\""+c.Log.Level+"\" is not one of trace, debug, info, warn, error, off")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "\""+c.Log.Format+"\" is not text or json")
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

// isHTTPURL reports whether s starts with http:// or https://.
func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// isLoopback reports whether host is a loopback name or address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
