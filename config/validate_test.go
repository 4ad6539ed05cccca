package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateValid(t *testing.T) {
	tests := []struct {
		name  string
		apply func(c *Config)
	}{
		{"minimal", func(*Config) {}},
		{"several domains", func(c *Config) { c.Domains = []string{"chat.example.org", "muc.example.org", "localhost"} }},
		{"unicode domain", func(c *Config) { c.Domains = []string{"bücher.example"} }},
		{"request timeout at the 25s limit", func(c *Config) { c.Extauth.RequestTimeout = 25 * time.Second }},
		{"query timeout equal to request timeout", func(c *Config) { c.Wiki.QueryTimeout = c.Extauth.RequestTimeout }},
		{"cache off", func(c *Config) { c.Auth.CacheTTL = 0 }},
		{"rate limit off", func(c *Config) { c.Auth.MaxFailures = 0 }},
		{"json at debug", func(c *Config) { c.Log.Format, c.Log.Level = "json", "debug" }},
		{"logging off", func(c *Config) { c.Log.Level = "off" }},
		{"standalone extauth", func(c *Config) { c.Extauth.DaemonSocket = DaemonOff }},
		{"serve's extauth socket", func(c *Config) { c.Extauth.DaemonSocket = "/run/livechat-auth/extauth.sock" }},
		{"daemon listener on loopback", func(c *Config) { c.Extauth.Listen = "127.0.0.1:8486" }},
		{"dsn with options", func(c *Config) { c.Wiki.DSN = "r:p@tcp(db:3306)/tiki?charset=utf8mb4&timeout=1s" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.apply(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate:\n%v", err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name  string
		apply func(c *Config)
		keys  string // space-separated: each message starts with one of them and ": ", and each has one
	}{
		{"no domains", func(c *Config) { c.Domains = nil }, "domains"},
		{"upper-case domain", func(c *Config) { c.Domains = []string{"Chat.Example.org"} }, "domains"},
		{"domain with a space", func(c *Config) { c.Domains = []string{"chat example.org"} }, "domains"},
		{"domain with a trailing dot", func(c *Config) { c.Domains = []string{"chat.example.org."} }, "domains"},
		{"empty domain", func(c *Config) { c.Domains = []string{""} }, "domains"},
		{"address instead of domain", func(c *Config) { c.Domains = []string{"admin@chat.example.org"} }, "domains"},
		{"one bad domain among good", func(c *Config) { c.Domains = []string{"chat.example.org", "-bad-.example"} }, "domains"},
		{"no dsn", func(c *Config) { c.Wiki.DSN = "" }, "wiki.dsn"},
		{"negative outage grace", func(c *Config) { c.Auth.OutageGrace = -time.Second }, "auth.outage_grace"},
		{"outage grace over a day", func(c *Config) { c.Auth.OutageGrace = 25 * time.Hour }, "auth.outage_grace"},
		{"status page on a public address without secret", func(c *Config) { c.Status.Listen = "0.0.0.0:8485" }, "status.listen"},
		{"status page on serve's listener", func(c *Config) { c.Status.Listen = c.Serve.Listen }, "status.listen"},
		{"status page on serve's port under another name", func(c *Config) { c.Serve.Listen, c.Status.Listen = "127.0.0.1:8484", "localhost:8484" }, "status.listen"},
		{"status secret too short", func(c *Config) { c.Status.Listen, c.Status.Secret = "127.0.0.1:8485", "short" }, "status.secret"},
		{"status secret without page", func(c *Config) { c.Status.Secret = "long enough secret here" }, "status.secret"},
		{"end sessions bound too short", func(c *Config) { c.EndSessions.Bound = time.Second }, "end_sessions.bound"},
		{"end sessions without rooms account", func(c *Config) { c.EndSessions.Enabled = true }, "end_sessions.enabled"},
		{"end sessions without a credential", func(c *Config) { c.EndSessions.Enabled, c.Rooms.JID = true, "sync@chat.example.org" }, "end_sessions.enabled"},
		{"redis url of another scheme", func(c *Config) { c.State.RedisURL = "http://127.0.0.1:6379" }, "state.redis_url"},
		{"redis url without host", func(c *Config) { c.State.RedisURL = "redis:///0" }, "state.redis_url"},
		{"redis url not a url", func(c *Config) { c.State.RedisURL = "redis://a b:%zz" }, "state.redis_url"},
		{"redis password without url", func(c *Config) { c.State.RedisPassword = "pw" }, "state.redis_password"},
		{"redis ca without tls", func(c *Config) {
			c.State.RedisURL, c.State.RedisCAFile = "redis://127.0.0.1:6379", "/ca.pem"
		}, "state.redis_ca_file"},
		{"empty key prefix", func(c *Config) { c.State.RedisURL, c.State.KeyPrefix = "redis://127.0.0.1:6379", "" }, "state.key_prefix"},
		{"state timeout too long", func(c *Config) { c.State.RedisURL, c.State.Timeout = "redis://127.0.0.1:6379", time.Minute }, "state.timeout"},
		{"dsn without database", func(c *Config) { c.Wiki.DSN = "reader:pw@tcp(db:3306)tiki" }, "wiki.dsn"},
		{"zero query timeout", func(c *Config) { c.Wiki.QueryTimeout = 0 }, "wiki.query_timeout"},
		{"query timeout over request timeout", func(c *Config) { c.Wiki.QueryTimeout = 6 * time.Second }, "wiki.query_timeout"},
		{"negative prefs refresh", func(c *Config) { c.Wiki.PrefsRefresh = -time.Second }, "wiki.prefs_refresh"},
		{"negative account cache", func(c *Config) { c.Wiki.AccountCache = -time.Second }, "wiki.account_cache"},
		{"account cache over a minute", func(c *Config) { c.Wiki.AccountCache = 2 * time.Minute }, "wiki.account_cache"},
		{"no connections", func(c *Config) { c.Wiki.MaxOpenConns = 0 }, "wiki.max_open_conns"},
		{"negative cache ttl", func(c *Config) { c.Auth.CacheTTL = -time.Second }, "auth.cache_ttl"},
		{"zero cache size", func(c *Config) { c.Auth.CacheSize = 0 }, "auth.cache_size"},
		{"negative max failures", func(c *Config) { c.Auth.MaxFailures = -1 }, "auth.max_failures"},
		{"zero failure window", func(c *Config) { c.Auth.FailureWindow = 0 }, "auth.failure_window"},
		{"zero request timeout", func(c *Config) { c.Extauth.RequestTimeout = 0 }, "extauth.request_timeout wiki.query_timeout"},
		{"request timeout over 25s", func(c *Config) { c.Extauth.RequestTimeout = 26 * time.Second }, "extauth.request_timeout"},
		{"request timeout of 30s", func(c *Config) { c.Extauth.RequestTimeout = 30 * time.Second }, "extauth.request_timeout"},
		{"relative daemon socket", func(c *Config) { c.Extauth.DaemonSocket = "run/extauth.sock" }, "extauth.daemon_socket"},
		{"daemon socket spelt OFF", func(c *Config) { c.Extauth.DaemonSocket = "OFF" }, "extauth.daemon_socket"},
		{"daemon listener not host:port", func(c *Config) { c.Extauth.Listen = "8486" }, "extauth.listen"},
		{"daemon listener on serve's port", func(c *Config) { c.Extauth.Listen = c.Serve.Listen }, "extauth.listen"},
		{"daemon listener public without secret", func(c *Config) { c.Extauth.Listen = "0.0.0.0:8486" }, "extauth.listen"},
		{"daemon listener with serve's socket", func(c *Config) {
			c.Extauth.Listen, c.Extauth.DaemonSocket = "127.0.0.1:8486", "/run/livechat-auth/extauth.sock"
		}, "extauth.listen"},
		{"upper-case level", func(c *Config) { c.Log.Level = "INFO" }, "log.level"},
		{"unknown level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"unknown format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"JWKS over http", func(c *Config) { c.Token.JWKSURL = "http://wiki.example.org/jwks.json" }, "token.jwks_url"},
		{"short token secret", func(c *Config) { c.Token.Secret = "short" }, "token.secret"},
		{"short token secret from a file", func(c *Config) { c.Token.Secret, c.Token.SecretFile = "short", "/etc/s" }, "token.secret_file"},
		{"bad dsn from a file", func(c *Config) { c.Wiki.DSN, c.Wiki.DSNFile = "not a dsn", "/etc/dsn" }, "wiki.dsn_file"},
		{"token lifetime over 10m", func(c *Config) { c.Token.Lifetime = 11 * time.Minute }, "token.lifetime"},
		{"token used file relative", func(c *Config) { c.Token.UsedFile = "used-tokens" }, "token.used_file"},
		{"unknown token subject", func(c *Config) { c.Token.Subject = "email" }, "token.subject"},
		{"session without a minting key", func(c *Config) { c.Session.Key = "0123456789abcdef0123456789abcdef" }, "session.key"},
		{"no-secret HTTP auth beside the session API", func(c *Config) {
			c.HTTPAuth.AllowNoSecret = true
			c.Token.Secret = "0123456789abcdef0123456789abcdef"
			c.Session.Key = "0123456789abcdef0123456789abcdef"
		}, "httpauth.allow_no_secret"},
		{"no-secret HTTP auth on a public listener", func(c *Config) {
			c.HTTPAuth.AllowNoSecret = true
			c.Serve.Listen = "0.0.0.0:8484"
		}, "httpauth.allow_no_secret"},
		{"proxy paths collide", func(c *Config) {
			c.Proxy.WebSocketUpstream = "ws://127.0.0.1:5280/ws"
			c.Proxy.BOSHPath = c.Proxy.WebSocketPath
		}, "proxy.bosh_path"},
		{"proxy path with a pattern", func(c *Config) { c.Proxy.WebSocketPath = "/ws/{x}" }, "proxy.websocket_path"},
		{"proxy path taken by serve", func(c *Config) { c.Proxy.WebSocketPath = "/metrics" }, "proxy.websocket_path"},
		{"rooms without TLS off loopback", func(c *Config) {
			c.Rooms = Rooms{JID: "sync@chat.example.org", Password: "pw", Server: "chat.example.org:5222", TLS: "none",
				Service: "conference.chat.example.org", RoomTimeout: time.Second,
				Rules: []RoomRule{{Group: "G", Rooms: []string{"support"}, Affiliation: "member"}}}
		}, "rooms.tls"},
		{"room rule with a bad affiliation", func(c *Config) {
			c.Rooms = Rooms{JID: "sync@chat.example.org", Password: "pw", TLS: "starttls",
				Service: "conference.chat.example.org", RoomTimeout: time.Second,
				Rules: []RoomRule{{Group: "G", Rooms: []string{"support"}, Affiliation: "moderator"}}}
		}, "rooms.rules[0].affiliation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.apply(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			seen := map[string]bool{}
			for _, line := range errorLines(err) {
				key, _, _ := strings.Cut(line, ": ")
				if !strings.Contains(" "+tt.keys+" ", " "+key+" ") {
					t.Errorf("message %q does not start with one of %q", line, tt.keys)
				}
				seen[key] = true
			}
			for _, key := range strings.Fields(tt.keys) {
				if !seen[key] {
					t.Errorf("no message for %s in:\n%v", key, err)
				}
			}
		})
	}
}

func TestValidateAllProblems(t *testing.T) {
	c := Config{
		Domains: []string{"Chat.Example.org", "chat example"},
		Wiki:    Wiki{DSN: "reader:pw@tcp(db)tiki", QueryTimeout: 0, MaxOpenConns: 0, PrefsRefresh: -1},
		Auth:    Auth{CacheTTL: -1, CacheSize: 0, MaxFailures: -1, FailureWindow: 0},
		Extauth: Extauth{RequestTimeout: time.Minute},
		Log:     Log{Level: "loud", Format: "xml"},
	}
	wantKeys := []string{
		"domains", "wiki.dsn", "wiki.query_timeout", "wiki.max_open_conns", "wiki.prefs_refresh",
		"auth.cache_ttl", "auth.cache_size", "auth.max_failures", "auth.failure_window",
		"extauth.request_timeout", "log.level", "log.format",
	}
	lines := errorLines(c.Validate())
	for _, key := range wantKeys {
		t.Run(key, func(t *testing.T) {
			for _, line := range lines {
				if strings.HasPrefix(line, key+": ") {
					return
				}
			}
			t.Errorf("no message starts with %q in:\n%s", key+": ", strings.Join(lines, "\n"))
		})
	}
	t.Run("every message starts with a key", func(t *testing.T) {
		known := map[string]bool{}
		for _, e := range envVars {
			known[e.key] = true
		}
		for _, line := range lines {
			key, _, ok := strings.Cut(line, ": ")
			if !ok || !known[key] {
				t.Errorf("message %q does not start with a known key", line)
			}
		}
	})
	t.Run("each bad domain reported", func(t *testing.T) {
		n := 0
		for _, line := range lines {
			if strings.HasPrefix(line, "domains: ") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d domains messages, want 2 (one per bad domain)", n)
		}
	})
}

func TestValidateHidesDSNPassword(t *testing.T) {
	const password = "hunter2-dsn-pass"
	tests := []struct {
		name string
		dsn  string
	}{
		{"missing slash", "reader:" + password + "@tcp(db:3306)tiki"},
		{"bad parameter", "reader:" + password + "@tcp(db:3306)/tiki?timeout=never"},
		{"password only", password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.Wiki.DSN = Secret(tt.dsn)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate accepted DSN %q", tt.dsn)
			}
			if !strings.HasPrefix(err.Error(), "wiki.dsn: ") {
				t.Errorf("error %q does not start with wiki.dsn", err)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q holds the DSN password", err)
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	const value = "s3cret-dsn-value"
	s := Secret(value)
	c := validConfig()
	c.Wiki.DSN = s
	tests := []struct {
		name   string
		format string
		arg    any
	}{
		{"%s", "%s", s},
		{"%v", "%v", s},
		{"%+v", "%+v", s},
		{"%#v", "%#v", s},
		{"%q", "%q", s},
		{"pointer %v", "%v", &s},
		{"Wiki %v", "%v", c.Wiki},
		{"Wiki %+v", "%+v", c.Wiki},
		{"Wiki %#v", "%#v", c.Wiki},
		{"Config %+v", "%+v", c},
		{"*Config %+v", "%+v", &c},
		{"Config %#v", "%#v", c},
		{"slice %v", "%v", []Secret{s}},
		{"map %v", "%v", map[string]Secret{"dsn": s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprintf(tt.format, tt.arg)
			if strings.Contains(got, value) {
				t.Errorf("Sprintf(%q) = %q: holds the secret", tt.format, got)
			}
			if !strings.Contains(got, "[redacted]") {
				t.Errorf("Sprintf(%q) = %q: no [redacted]", tt.format, got)
			}
		})
	}
	t.Run("String", func(t *testing.T) {
		if got := s.String(); got != "[redacted]" {
			t.Errorf("String() = %q", got)
		}
	})
	t.Run("wrong verbs", func(t *testing.T) {
		for _, verb := range []string{"%d", "%t", "%e", "%x"} {
			if got := fmt.Sprintf(verb, s); strings.Contains(got, value) {
				t.Errorf("Sprintf(%q) = %q: holds the secret", verb, got)
			}
		}
	})
}

// TestExposedFiles: a secret file every user may read is a warning, and
// an error under strict; a group-readable one is neither.
func TestExposedFiles(t *testing.T) {
	dir := t.TempDir()
	world, group := filepath.Join(dir, "world"), filepath.Join(dir, "group")
	for path, mode := range map[string]os.FileMode{world: 0o644, group: 0o640} {
		if err := os.WriteFile(path, []byte("a secret of enough bytes, surely\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	c := validConfig()
	c.Token.SecretFile, c.Session.KeyFile = world, group
	got := c.ExposedFiles("")
	if len(got) != 1 || !strings.Contains(got[0].String(), "token.secret_file: "+world+" is readable by every user (mode 0644)") {
		t.Errorf("ExposedFiles = %q", got)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("not strict: %v", err)
	}
	c.Strict = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "token.secret_file") {
		t.Errorf("strict: %v", err)
	}
}

// TestUnknownEnv: a LIVECHAT_AUTH_ variable that names no setting is
// named, with the nearest one; the value never is.
func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{"LIVECHAT_AUTH_WIKI_QUERY_TIMOUT=9s", "LIVECHAT_AUTH_DOMAINS=x", "LIVECHAT_AUTH_CONFIG=/etc/x", "PATH=/bin", "LIVECHAT_AUTH_FROB=secret-value"})
	if len(got) != 2 || !strings.Contains(got[1], "LIVECHAT_AUTH_WIKI_QUERY_TIMOUT: names no setting; it is ignored (did you mean LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT?)") ||
		!strings.HasPrefix(got[0], "LIVECHAT_AUTH_FROB: names no setting") || strings.Contains(strings.Join(got, ""), "secret-value") {
		t.Errorf("UnknownEnv = %q", got)
	}
}
