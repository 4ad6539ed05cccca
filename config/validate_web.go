package config

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// validateServe checks serve.listen and serve.request_timeout.
func (c *Config) validateServe() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
		bad("serve.listen", "\""+c.Serve.Listen+"\" is not host:port")
	}
	if c.Serve.RequestTimeout <= 0 {
		bad("serve.request_timeout", "must be positive")
	}
	return errs
}

// validateSession checks the session.* settings: a key long enough, with
// a token key to mint with, and a domain among domains.
func (c *Config) validateSession() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	s := c.Session
	if s.Key != "" {
		if len(s.Key) < 32 {
			bad(fromFile("session.key", "session.key_file", s.KeyFile), "shorter than 32 bytes")
		}
		if !c.Token.mints() {
			bad("session.key", "the session API mints tokens: set token.signing_key_file or token.secret")
		}
	}
	if s.MaxSkew <= 0 {
		bad("session.max_skew", "must be positive")
	}
	if s.Domain != "" && !slices.Contains(c.Domains, s.Domain) {
		bad("session.domain", "\""+s.Domain+"\" is not one of domains")
	}
	if u := s.VCardAPIURL; u != "" && !isHTTPURL(u) {
		bad("session.vcard_api_url", "must be an http:// or https:// URL")
	}
	return errs
}

// validateHTTPAuth checks the httpauth.* settings when the HTTP contract
// is on: a secret long enough, or no secret only where nothing but
// loopback can reach the listener.
func (c *Config) validateHTTPAuth() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	h := c.HTTPAuth
	if !h.Enabled() {
		return nil
	}
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
	return errs
}

// validateProxy checks the chat proxy's upstream URLs; its paths are
// validatePaths's.
func (c *Config) validateProxy() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
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
	return errs
}

// validatePaths checks the paths serve mounts from the settings (the
// proxy's and the HTTP contract's): each plain, absolute, not one of
// livechat-auth's own and not another's.
func (c *Config) validatePaths() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
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

// reservedPaths are served by livechat-auth serve itself.
var reservedPaths = map[string]bool{"/": true, "/healthz": true, "/readyz": true, "/metrics": true, "/v1": true, "/v1/sessions": true, "/v1/keys": true, "/.well-known": true}
