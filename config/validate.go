package config

import (
	"errors"
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
			bad("wiki.dsn", "not a valid go-sql-driver DSN (user:password@tcp(host:3306)/dbname)")
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
	if c.Auth.CacheTTL < 0 {
		bad("auth.cache_ttl", "must not be negative (0 turns the cache off)")
	}
	if c.Auth.CacheSize < 1 {
		bad("auth.cache_size", "must be at least 1")
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
