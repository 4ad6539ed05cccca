package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a fake getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// writeFile writes content to a new file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// validConfig is the smallest config that passes Validate.
func validConfig() Config {
	c := Default()
	c.Domains = []string{"chat.example.org"}
	c.Wiki.DSN = "reader:pw@tcp(127.0.0.1:3306)/tiki"
	return c
}

// errorLines splits a joined Validate error into its messages.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		name   string
		getenv func(string) string
	}{
		{"no environment", noEnv},
		{"empty values set nothing", func(string) string { return "" }},
		{"unrelated variables", env(map[string]string{"HOME": "/root", "LIVECHAT_AUTH_NOPE": "1"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load("", tt.getenv)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %+v, want Default() = %+v", got, want)
			}
		})
	}
}

func TestEnvNames(t *testing.T) {
	want := []string{
		"LIVECHAT_AUTH_DOMAINS",
		"LIVECHAT_AUTH_STRICT",
		"LIVECHAT_AUTH_WIKI_DSN",
		"LIVECHAT_AUTH_WIKI_DSN_FILE",
		"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT",
		"LIVECHAT_AUTH_WIKI_MAX_OPEN_CONNS",
		"LIVECHAT_AUTH_WIKI_PREFS_REFRESH",
		"LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE",
		"LIVECHAT_AUTH_AUTH_CACHE_TTL",
		"LIVECHAT_AUTH_AUTH_CACHE_SIZE",
		"LIVECHAT_AUTH_AUTH_MAX_FAILURES",
		"LIVECHAT_AUTH_AUTH_FAILURE_WINDOW",
		"LIVECHAT_AUTH_AUTH_OUTAGE_GRACE",
		"LIVECHAT_AUTH_EXTAUTH_REQUEST_TIMEOUT",
		"LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET",
		"LIVECHAT_AUTH_EXTAUTH_LISTEN",
		"LIVECHAT_AUTH_SERVE_LISTEN",
		"LIVECHAT_AUTH_SERVE_REQUEST_TIMEOUT",
		"LIVECHAT_AUTH_TOKEN_ALGORITHMS",
		"LIVECHAT_AUTH_TOKEN_SIGNING_KEY_FILE",
		"LIVECHAT_AUTH_TOKEN_SECRET",
		"LIVECHAT_AUTH_TOKEN_SECRET_FILE",
		"LIVECHAT_AUTH_TOKEN_SECRET_KID",
		"LIVECHAT_AUTH_TOKEN_PREVIOUS_SECRET",
		"LIVECHAT_AUTH_TOKEN_PREVIOUS_SECRET_KID",
		"LIVECHAT_AUTH_TOKEN_PUBLIC_KEY_FILES",
		"LIVECHAT_AUTH_TOKEN_JWKS_URL",
		"LIVECHAT_AUTH_TOKEN_JWKS_REFRESH",
		"LIVECHAT_AUTH_TOKEN_ISSUER",
		"LIVECHAT_AUTH_TOKEN_AUDIENCE",
		"LIVECHAT_AUTH_TOKEN_LIFETIME",
		"LIVECHAT_AUTH_TOKEN_SUBJECT_CLAIM",
		"LIVECHAT_AUTH_TOKEN_SUBJECT",
		"LIVECHAT_AUTH_TOKEN_REPLAY_PROTECTION",
		"LIVECHAT_AUTH_TOKEN_USED_FILE",
		"LIVECHAT_AUTH_SESSION_KEY",
		"LIVECHAT_AUTH_SESSION_KEY_FILE",
		"LIVECHAT_AUTH_SESSION_MAX_SKEW",
		"LIVECHAT_AUTH_SESSION_DOMAIN",
		"LIVECHAT_AUTH_SESSION_WEBSOCKET_URL",
		"LIVECHAT_AUTH_SESSION_BOSH_URL",
		"LIVECHAT_AUTH_SESSION_MIGRATION_URL",
		"LIVECHAT_AUTH_SESSION_AVATAR_URL", "LIVECHAT_AUTH_SESSION_VCARD_API_URL",
		"LIVECHAT_AUTH_MIGRATION_ENABLED", "LIVECHAT_AUTH_MIGRATION_OLD_ACCOUNT", "LIVECHAT_AUTH_MIGRATION_EJABBERD_API_URL",
		"LIVECHAT_AUTH_PROXY_WEBSOCKET_PATH",
		"LIVECHAT_AUTH_PROXY_WEBSOCKET_UPSTREAM",
		"LIVECHAT_AUTH_PROXY_BOSH_PATH",
		"LIVECHAT_AUTH_PROXY_BOSH_UPSTREAM",
		"LIVECHAT_AUTH_PROXY_HOST_HEADER",
		"LIVECHAT_AUTH_HTTPAUTH_PATH",
		"LIVECHAT_AUTH_HTTPAUTH_SECRET",
		"LIVECHAT_AUTH_HTTPAUTH_SECRET_FILE",
		"LIVECHAT_AUTH_HTTPAUTH_ALLOW_NO_SECRET",
		"LIVECHAT_AUTH_HTTPAUTH_TIMEOUT",
		"LIVECHAT_AUTH_ROOMS_JID",
		"LIVECHAT_AUTH_ROOMS_PASSWORD",
		"LIVECHAT_AUTH_ROOMS_PASSWORD_FILE",
		"LIVECHAT_AUTH_ROOMS_SERVER",
		"LIVECHAT_AUTH_ROOMS_TLS",
		"LIVECHAT_AUTH_ROOMS_SERVICE",
		"LIVECHAT_AUTH_ROOMS_INTERVAL",
		"LIVECHAT_AUTH_ROOMS_ROOM_TIMEOUT",
		"LIVECHAT_AUTH_STATE_REDIS_URL",
		"LIVECHAT_AUTH_STATE_REDIS_URL_FILE",
		"LIVECHAT_AUTH_STATE_REDIS_PASSWORD",
		"LIVECHAT_AUTH_STATE_REDIS_PASSWORD_FILE",
		"LIVECHAT_AUTH_STATE_REDIS_CA_FILE",
		"LIVECHAT_AUTH_STATE_KEY_PREFIX",
		"LIVECHAT_AUTH_STATE_TIMEOUT",
		"LIVECHAT_AUTH_STATUS_LISTEN",
		"LIVECHAT_AUTH_STATUS_SECRET",
		"LIVECHAT_AUTH_STATUS_SECRET_FILE",
		"LIVECHAT_AUTH_END_SESSIONS_ENABLED",
		"LIVECHAT_AUTH_END_SESSIONS_BOUND",
		"LIVECHAT_AUTH_LOG_LEVEL",
		"LIVECHAT_AUTH_LOG_FORMAT",
		"LIVECHAT_AUTH_LOG_FILE",
	}
	if got := EnvNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvNames() = %q\nwant %q", got, want)
	}
	for _, e := range envVars {
		t.Run(e.key, func(t *testing.T) {
			want := "LIVECHAT_AUTH_" + strings.ToUpper(strings.ReplaceAll(e.key, ".", "_"))
			if got := e.Name(); got != want {
				t.Errorf("Name() = %q, want %q", got, want)
			}
		})
	}
}

// yamlFor returns a YAML document setting the dotted key to value.
func yamlFor(key, value string) string {
	section, field, nested := strings.Cut(key, ".")
	if !nested {
		return key + ": " + value + "\n"
	}
	return section + ":\n  " + field + ": " + value + "\n"
}

// TestOverrides sets every key once through the environment and once
// through the file, and expects the same single change from Default().
func TestOverrides(t *testing.T) {
	dsnFile := writeFile(t, "dsn", "filed:pw@tcp(db:3306)/tiki\n")
	secretFile := writeFile(t, "secret", "from-a-file-0123456789abcdef0123\n")
	tests := []struct {
		name  string
		key   string // file key; the variable follows the naming rule
		env   string // value in the environment
		yaml  string // the same value in the file
		apply func(c *Config)
	}{
		{"domains list", "domains", " chat.example.org , ,muc.example.org,", "[chat.example.org, muc.example.org]",
			func(c *Config) { c.Domains = []string{"chat.example.org", "muc.example.org"} }},
		{"one domain", "domains", "chat.example.org", "[chat.example.org]",
			func(c *Config) { c.Domains = []string{"chat.example.org"} }},
		{"dsn", "wiki.dsn", "u:pw@tcp(db:3306)/tiki", `"u:pw@tcp(db:3306)/tiki"`,
			func(c *Config) { c.Wiki.DSN = "u:pw@tcp(db:3306)/tiki" }},
		{"dsn file", "wiki.dsn_file", dsnFile, dsnFile,
			func(c *Config) { c.Wiki.DSNFile, c.Wiki.DSN = dsnFile, "filed:pw@tcp(db:3306)/tiki" }},
		{"query timeout", "wiki.query_timeout", "750ms", "750ms",
			func(c *Config) { c.Wiki.QueryTimeout = 750 * time.Millisecond }},
		{"max open conns", "wiki.max_open_conns", "7", "7",
			func(c *Config) { c.Wiki.MaxOpenConns = 7 }},
		{"prefs refresh", "wiki.prefs_refresh", "90s", "90s",
			func(c *Config) { c.Wiki.PrefsRefresh = 90 * time.Second }},
		{"account cache", "wiki.account_cache", "0s", "0s",
			func(c *Config) { c.Wiki.AccountCache = 0 }},
		{"cache ttl", "auth.cache_ttl", "10m", "10m",
			func(c *Config) { c.Auth.CacheTTL = 10 * time.Minute }},
		{"cache off", "auth.cache_ttl", "0", "0s",
			func(c *Config) { c.Auth.CacheTTL = 0 }},
		{"cache size", "auth.cache_size", "42", "42",
			func(c *Config) { c.Auth.CacheSize = 42 }},
		{"max failures off", "auth.max_failures", "0", "0",
			func(c *Config) { c.Auth.MaxFailures = 0 }},
		{"failure window", "auth.failure_window", "2m30s", "2m30s",
			func(c *Config) { c.Auth.FailureWindow = 150 * time.Second }},
		{"request timeout", "extauth.request_timeout", "8s", "8s",
			func(c *Config) { c.Extauth.RequestTimeout = 8 * time.Second }},
		{"serve listen", "serve.listen", "0.0.0.0:9000", "0.0.0.0:9000",
			func(c *Config) { c.Serve.Listen = "0.0.0.0:9000" }},
		{"secret kid", "token.secret_kid", "k2", "k2",
			func(c *Config) { c.Token.SecretKID = "k2" }},
		{"previous secret kid", "token.previous_secret_kid", "k0", "k0",
			func(c *Config) { c.Token.PreviousSecretKID = "k0" }},
		{"jwks url", "token.jwks_url", "https://wiki.example.org/jwks.json", "https://wiki.example.org/jwks.json",
			func(c *Config) { c.Token.JWKSURL = "https://wiki.example.org/jwks.json" }},
		{"issuer", "token.issuer", "tiki", "tiki",
			func(c *Config) { c.Token.Issuer = "tiki" }},
		{"audience", "token.audience", "chat", "chat",
			func(c *Config) { c.Token.Audience = "chat" }},
		{"subject claim", "token.subject_claim", "external_id", "external_id",
			func(c *Config) { c.Token.SubjectClaim = "external_id" }},
		{"subject", "token.subject", "login", "login",
			func(c *Config) { c.Token.Subject = "login" }},
		{"signing key file", "token.signing_key_file", "/etc/livechat-auth/signing.pem", "/etc/livechat-auth/signing.pem",
			func(c *Config) { c.Token.SigningKeyFile = "/etc/livechat-auth/signing.pem" }},
		{"session domain", "session.domain", "chat.example.org", "chat.example.org",
			func(c *Config) { c.Session.Domain = "chat.example.org" }},
		{"websocket url", "session.websocket_url", "wss://wiki.example.org/xmpp-websocket", "wss://wiki.example.org/xmpp-websocket",
			func(c *Config) { c.Session.WebSocketURL = "wss://wiki.example.org/xmpp-websocket" }},
		{"bosh url", "session.bosh_url", "https://wiki.example.org/http-bind", "https://wiki.example.org/http-bind",
			func(c *Config) { c.Session.BOSHURL = "https://wiki.example.org/http-bind" }},
		{"migration url", "session.migration_url", "https://wiki.example.org/tiki-livechat_migration.php", "https://wiki.example.org/tiki-livechat_migration.php",
			func(c *Config) { c.Session.MigrationURL = "https://wiki.example.org/tiki-livechat_migration.php" }},
		{"avatar url", "session.avatar_url", "https://wiki.example.org/tiki-show_user_avatar.php?user={login}", "https://wiki.example.org/tiki-show_user_avatar.php?user={login}",
			func(c *Config) {
				c.Session.AvatarURL = "https://wiki.example.org/tiki-show_user_avatar.php?user={login}"
			}},
		{"websocket path", "proxy.websocket_path", "/chat/ws", "/chat/ws",
			func(c *Config) { c.Proxy.WebSocketPath = "/chat/ws" }},
		{"websocket upstream", "proxy.websocket_upstream", "ws://127.0.0.1:5280/ws", "ws://127.0.0.1:5280/ws",
			func(c *Config) { c.Proxy.WebSocketUpstream = "ws://127.0.0.1:5280/ws" }},
		{"bosh path", "proxy.bosh_path", "/chat/bosh", "/chat/bosh",
			func(c *Config) { c.Proxy.BOSHPath = "/chat/bosh" }},
		{"bosh upstream", "proxy.bosh_upstream", "http://127.0.0.1:5280/bosh", "http://127.0.0.1:5280/bosh",
			func(c *Config) { c.Proxy.BOSHUpstream = "http://127.0.0.1:5280/bosh" }},
		{"host header", "proxy.host_header", "localhost", "localhost",
			func(c *Config) { c.Proxy.HostHeader = "localhost" }},
		{"serve request timeout", "serve.request_timeout", "3s", "3s",
			func(c *Config) { c.Serve.RequestTimeout = 3 * time.Second }},
		{"jwks refresh", "token.jwks_refresh", "1h", "1h",
			func(c *Config) { c.Token.JWKSRefresh = time.Hour }},
		{"token lifetime", "token.lifetime", "2m", "2m",
			func(c *Config) { c.Token.Lifetime = 2 * time.Minute }},
		{"session max skew", "session.max_skew", "90s", "90s",
			func(c *Config) { c.Session.MaxSkew = 90 * time.Second }},
		{"algorithms", "token.algorithms", "RS256, HS256", "[RS256, HS256]",
			func(c *Config) { c.Token.Algorithms = []string{"RS256", "HS256"} }},
		{"public key files", "token.public_key_files", "/a.pem,/b.pem", "[/a.pem, /b.pem]",
			func(c *Config) { c.Token.PublicKeyFiles = []string{"/a.pem", "/b.pem"} }},
		{"replay protection off", "token.replay_protection", "false", "false",
			func(c *Config) { c.Token.ReplayProtection = false }},
		{"used-token journal", "token.used_file", "/var/lib/livechat-auth/used", "/var/lib/livechat-auth/used",
			func(c *Config) { c.Token.UsedFile = "/var/lib/livechat-auth/used" }},
		{"token secret", "token.secret", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef",
			func(c *Config) { c.Token.Secret = "0123456789abcdef0123456789abcdef" }},
		{"previous secret", "token.previous_secret", "fedcba9876543210fedcba9876543210", "fedcba9876543210fedcba9876543210",
			func(c *Config) { c.Token.PreviousSecret = "fedcba9876543210fedcba9876543210" }},
		{"token secret file", "token.secret_file", secretFile, secretFile,
			func(c *Config) { c.Token.SecretFile, c.Token.Secret = secretFile, "from-a-file-0123456789abcdef0123" }},
		{"session key", "session.key", "session-key-0123456789abcdef012345", "session-key-0123456789abcdef012345",
			func(c *Config) { c.Session.Key = "session-key-0123456789abcdef012345" }},
		{"session key file", "session.key_file", secretFile, secretFile,
			func(c *Config) { c.Session.KeyFile, c.Session.Key = secretFile, "from-a-file-0123456789abcdef0123" }},
		{"httpauth path", "httpauth.path", "/xmpp-auth", "/xmpp-auth",
			func(c *Config) { c.HTTPAuth.Path = "/xmpp-auth" }},
		{"httpauth secret", "httpauth.secret", "0123456789abcdef-http", "0123456789abcdef-http",
			func(c *Config) { c.HTTPAuth.Secret = "0123456789abcdef-http" }},
		{"httpauth secret file", "httpauth.secret_file", secretFile, secretFile,
			func(c *Config) {
				c.HTTPAuth.SecretFile, c.HTTPAuth.Secret = secretFile, "from-a-file-0123456789abcdef0123"
			}},
		{"httpauth no secret", "httpauth.allow_no_secret", "true", "true",
			func(c *Config) { c.HTTPAuth.AllowNoSecret = true }},
		{"httpauth timeout", "httpauth.timeout", "900ms", "900ms",
			func(c *Config) { c.HTTPAuth.Timeout = 900 * time.Millisecond }},
		{"rooms jid", "rooms.jid", "sync@chat.example.org", "sync@chat.example.org",
			func(c *Config) { c.Rooms.JID = "sync@chat.example.org" }},
		{"rooms password", "rooms.password", "sync-pw", "sync-pw",
			func(c *Config) { c.Rooms.Password = "sync-pw" }},
		{"rooms password file", "rooms.password_file", secretFile, secretFile,
			func(c *Config) {
				c.Rooms.PasswordFile, c.Rooms.Password = secretFile, "from-a-file-0123456789abcdef0123"
			}},
		{"rooms server", "rooms.server", "chat.example.org:5222", "chat.example.org:5222",
			func(c *Config) { c.Rooms.Server = "chat.example.org:5222" }},
		{"rooms tls", "rooms.tls", "none", "none",
			func(c *Config) { c.Rooms.TLS = "none" }},
		{"rooms service", "rooms.service", "conference.chat.example.org", "conference.chat.example.org",
			func(c *Config) { c.Rooms.Service = "conference.chat.example.org" }},
		{"rooms interval", "rooms.interval", "15m", "15m",
			func(c *Config) { c.Rooms.Interval = 15 * time.Minute }},
		{"rooms room timeout", "rooms.room_timeout", "45s", "45s",
			func(c *Config) { c.Rooms.RoomTimeout = 45 * time.Second }},
		{"strict", "strict", "true", "true",
			func(c *Config) { c.Strict = true }},
		{"outage grace", "auth.outage_grace", "30m", "30m",
			func(c *Config) { c.Auth.OutageGrace = 30 * time.Minute }},
		{"status listen", "status.listen", "127.0.0.1:8485", "127.0.0.1:8485",
			func(c *Config) { c.Status.Listen = "127.0.0.1:8485" }},
		{"status secret", "status.secret", "the status page secret", "the status page secret",
			func(c *Config) { c.Status.Secret = "the status page secret" }},
		{"status secret file", "status.secret_file", secretFile, secretFile,
			func(c *Config) { c.Status.SecretFile, c.Status.Secret = secretFile, "from-a-file-0123456789abcdef0123" }},
		{"vcard api", "session.vcard_api_url", "http://127.0.0.1:5281/api", "http://127.0.0.1:5281/api",
			func(c *Config) { c.Session.VCardAPIURL = "http://127.0.0.1:5281/api" }},
		{"migration", "migration.enabled", "true", "true",
			func(c *Config) { c.Migration.Enabled = true }},
		{"migration old account", "migration.old_account", "retire", "retire",
			func(c *Config) { c.Migration.OldAccount = "retire" }},
		{"migration ejabberd api", "migration.ejabberd_api_url", "http://127.0.0.1:5281/api", "http://127.0.0.1:5281/api",
			func(c *Config) { c.Migration.EjabberdAPIURL = "http://127.0.0.1:5281/api" }},
		{"end sessions", "end_sessions.enabled", "true", "true",
			func(c *Config) { c.EndSessions.Enabled = true }},
		{"end sessions bound", "end_sessions.bound", "30s", "30s",
			func(c *Config) { c.EndSessions.Bound = 30 * time.Second }},
		{"redis url", "state.redis_url", "rediss://:pw@redis.example.org:6380/1", "rediss://:pw@redis.example.org:6380/1",
			func(c *Config) { c.State.RedisURL = "rediss://:pw@redis.example.org:6380/1" }},
		{"redis url file", "state.redis_url_file", secretFile, secretFile,
			func(c *Config) {
				c.State.RedisURLFile, c.State.RedisURL = secretFile, "from-a-file-0123456789abcdef0123"
			}},
		{"redis password", "state.redis_password", "redis-pw", "redis-pw",
			func(c *Config) { c.State.RedisPassword = "redis-pw" }},
		{"redis password file", "state.redis_password_file", secretFile, secretFile,
			func(c *Config) {
				c.State.RedisPasswordFile, c.State.RedisPassword = secretFile, "from-a-file-0123456789abcdef0123"
			}},
		{"redis ca file", "state.redis_ca_file", "/etc/ssl/redis-ca.pem", "/etc/ssl/redis-ca.pem",
			func(c *Config) { c.State.RedisCAFile = "/etc/ssl/redis-ca.pem" }},
		{"state key prefix", "state.key_prefix", "chat-eu:", "\"chat-eu:\"",
			func(c *Config) { c.State.KeyPrefix = "chat-eu:" }},
		{"state timeout", "state.timeout", "100ms", "100ms",
			func(c *Config) { c.State.Timeout = 100 * time.Millisecond }},
		{"daemon socket", "extauth.daemon_socket", "/run/livechat-auth/extauth.sock", "/run/livechat-auth/extauth.sock",
			func(c *Config) { c.Extauth.DaemonSocket = "/run/livechat-auth/extauth.sock" }},
		{"daemon listener", "extauth.listen", "127.0.0.1:8486", "127.0.0.1:8486",
			func(c *Config) { c.Extauth.Listen = "127.0.0.1:8486" }},
		{"log level", "log.level", "debug", "debug",
			func(c *Config) { c.Log.Level = "debug" }},
		{"log format", "log.format", "json", "json",
			func(c *Config) { c.Log.Format = "json" }},
		{"log file", "log.file", "/var/log/livechat-auth.log", "/var/log/livechat-auth.log",
			func(c *Config) { c.Log.File = "/var/log/livechat-auth.log" }},
	}

	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.key] = true
	}
	for _, e := range envVars {
		if !covered[e.key] {
			t.Errorf("no override case for %s (%s)", e.key, e.Name())
		}
	}

	for _, tt := range tests {
		want := Default()
		tt.apply(&want)
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(tt.key, ".", "_"))
		t.Run(tt.name+"/env", func(t *testing.T) {
			got, err := Load("", env(map[string]string{name: tt.env}))
			if err != nil {
				t.Fatalf("Load with %s: %v", name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load with %s=%q:\n got %+v\nwant %+v", name, tt.env, got, want)
			}
		})
		t.Run(tt.name+"/file", func(t *testing.T) {
			path := writeFile(t, "config.yaml", yamlFor(tt.key, tt.yaml))
			got, err := Load(path, noEnv)
			if err != nil {
				t.Fatalf("Load with %s in the file: %v", tt.key, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load with %s: %s in the file:\n got %+v\nwant %+v", tt.key, tt.yaml, got, want)
			}
		})
	}
}

func TestLoadBadEnv(t *testing.T) {
	const bad = "zq-bogus-value-7" // must never appear in an error
	tests := []struct {
		key  string
		kind string
	}{
		{"wiki.query_timeout", "duration"},
		{"wiki.max_open_conns", "integer"},
		{"wiki.prefs_refresh", "duration"},
		{"wiki.account_cache", "duration"},
		{"auth.cache_ttl", "duration"},
		{"auth.cache_size", "integer"},
		{"auth.max_failures", "integer"},
		{"auth.failure_window", "duration"},
		{"extauth.request_timeout", "duration"},
	}
	for _, tt := range tests {
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(tt.key, ".", "_"))
		for _, value := range []string{bad, bad + "s", "1.5" + bad} {
			t.Run(tt.key+"/"+value, func(t *testing.T) {
				_, err := Load("", env(map[string]string{name: value}))
				if err == nil {
					t.Fatalf("Load with %s=%q: no error", name, value)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, tt.key+" ") {
					t.Errorf("error %q does not start with the key %s", msg, tt.key)
				}
				if !strings.Contains(msg, name) {
					t.Errorf("error %q does not name the variable %s", msg, name)
				}
				if !strings.Contains(msg, tt.kind) {
					t.Errorf("error %q does not say a %s is expected", msg, tt.kind)
				}
				if strings.Contains(msg, bad) {
					t.Errorf("error %q echoes the value", msg)
				}
			})
		}
	}
	t.Run("an int is not a duration", func(t *testing.T) {
		// Durations need a unit, except 0.
		if _, err := Load("", env(map[string]string{"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT": "2"})); err == nil {
			t.Error("LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT=2 accepted without a unit")
		}
	})
}

func TestLoadExampleFile(t *testing.T) {
	c, err := Load("../config.example.yaml", noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	// The example documents the defaults: only the required keys differ.
	want := Default()
	want.Domains = []string{"chat.example.org"}
	want.Wiki.DSN = "livechat_reader:secret@tcp(127.0.0.1:3306)/tiki"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("example config:\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		env     map[string]string
		wantErr string // substring of the error; empty: no error
		apply   func(c *Config)
	}{
		{name: "empty file", content: "", apply: func(*Config) {}},
		{name: "only comments", content: "# nothing set\n", apply: func(*Config) {}},
		{name: "unknown top-level key", content: "domain: [chat.example.org]\n", wantErr: "domain: unknown setting (did you mean domains?)"},
		{name: "unknown nested key", content: "wiki:\n  dsn_fiel: /etc/dsn\n", wantErr: "wiki.dsn_fiel: unknown setting (did you mean wiki.dsn_file?)"},
		{name: "misspelt timeout", content: "wiki:\n  query_timout: 2s\n", wantErr: "wiki.query_timout: unknown setting (did you mean wiki.query_timeout?)"},
		{name: "every unknown key at once", content: "wiki:\n  bogus: 1\nlog:\n  levle: info\n", wantErr: "wiki.bogus: unknown setting; log.levle: unknown setting (did you mean log.level?)"},
		{name: "unknown section", content: "ldap:\n  url: x\n", wantErr: "ldap"},
		{name: "duration without unit", content: "wiki:\n  query_timeout: 2\n", wantErr: "config"},
		{name: "list as scalar", content: "domains: chat.example.org\n", wantErr: "config"},
		{
			name:    "env overrides the file",
			content: "domains: [file.example.org]\nwiki:\n  query_timeout: 3s\n  max_open_conns: 3\nlog:\n  format: json\n",
			env: map[string]string{
				"LIVECHAT_AUTH_DOMAINS":             "env.example.org,two.example.org",
				"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT":  "1s",
				"LIVECHAT_AUTH_WIKI_MAX_OPEN_CONNS": "",
			},
			apply: func(c *Config) {
				c.Domains = []string{"env.example.org", "two.example.org"}
				c.Wiki.QueryTimeout = time.Second // from env
				c.Wiki.MaxOpenConns = 3           // from the file: empty variables set nothing
				c.Log.Format = "json"             // from the file
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "config.yaml", tt.content)
			got, err := Load(path, env(tt.env))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load: no error, want one naming %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Load error %q does not name %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Default()
			tt.apply(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
		}
	})
}

func TestLoadDSNFile(t *testing.T) {
	const dsn = "reader:f1le-pass@tcp(db:3306)/tiki"
	tests := []struct {
		name    string
		content string
		fromEnv bool
	}{
		{"trailing newline", dsn + "\n", false},
		{"trailing CRLF", dsn + "\r\n", false},
		{"no newline", dsn, false},
		{"several newlines", dsn + "\n\n", false},
		{"named by the environment", dsn + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsnPath := writeFile(t, "dsn", tt.content)
			path, getenv := "", env(map[string]string{"LIVECHAT_AUTH_WIKI_DSN_FILE": dsnPath})
			if !tt.fromEnv {
				path, getenv = writeFile(t, "config.yaml", "wiki:\n  dsn_file: "+dsnPath+"\n"), noEnv
			}
			c, err := Load(path, getenv)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Wiki.DSN != dsn {
				t.Errorf("DSN = %q, want %q", string(c.Wiki.DSN), dsn)
			}
		})
	}
	t.Run("environment replaces the file's choice", func(t *testing.T) {
		dsnPath := writeFile(t, "dsn", dsn+"\n")
		path := writeFile(t, "config.yaml", "wiki:\n  dsn: \"u:p@tcp(h:1)/x\"\n")
		c, err := Load(path, env(map[string]string{"LIVECHAT_AUTH_WIKI_DSN_FILE": dsnPath}))
		if err != nil || c.Wiki.DSN != dsn {
			t.Fatalf("DSN_FILE over a file's dsn: %v", err)
		}
		path = writeFile(t, "config2.yaml", "wiki:\n  dsn_file: "+dsnPath+"\n")
		c, err = Load(path, env(map[string]string{"LIVECHAT_AUTH_WIKI_DSN": "u:p@tcp(h:1)/x"}))
		if err != nil || c.Wiki.DSN != "u:p@tcp(h:1)/x" {
			t.Fatalf("DSN over a file's dsn_file: %v", err)
		}
	})
	t.Run("both in the file", func(t *testing.T) {
		path := writeFile(t, "config.yaml", "wiki:\n  dsn: \"u:p@tcp(h:1)/x\"\n  dsn_file: /x\n")
		if _, err := Load(path, noEnv); err == nil || !strings.Contains(err.Error(), ": wiki.dsn, wiki.dsn_file: ") {
			t.Fatalf("Load = %v, want an error naming both keys", err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		empty := writeFile(t, "dsn", "\n")
		_, err := Load("", env(map[string]string{"LIVECHAT_AUTH_WIKI_DSN_FILE": empty}))
		if err == nil || !strings.HasPrefix(err.Error(), "wiki.dsn_file: "+empty) {
			t.Fatalf("Load = %v, want an error naming wiki.dsn_file and the file", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-dsn")
		_, err := Load("", env(map[string]string{"LIVECHAT_AUTH_WIKI_DSN_FILE": missing}))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load: %v, want fs.ErrNotExist", err)
		}
		if !strings.HasPrefix(err.Error(), "wiki.dsn_file: ") {
			t.Errorf("error %q does not start with the key wiki.dsn_file", err)
		}
	})
}

// TestLoadTypeProblems: values of the wrong shape are named by key, with
// what they need, never Go's types, and the validation problems of the
// rest come in the same error.
func TestLoadTypeProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	body := "domains: chat.test\nwiki:\n  dsn: \"r:p@tcp(127.0.0.1:3306)/x\"\n  query_timeout: fast\nauth:\n  max_failures: many\nhttpauth: \"a secret by mistake\"\nlog:\n  level: loud\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, func(string) string { return "" })
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`domains: must be a list`, `wiki.query_timeout: must be a duration with its unit, such as 0s, 5s or 1m (line 4)`,
		`auth.max_failures: must be a whole number, unquoted (line 6)`, `httpauth: must be a section`, `log.level: "loud" is not one of`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, never := range []string{"[]string", "time.Duration", "!!str", "a secret by mistake", "fast", "many"} {
		if strings.Contains(msg, never) {
			t.Errorf("error holds %q:\n%s", never, msg)
		}
	}
}

// TestEmptyVariableClears: a setting's variable set but empty puts the
// file's value back to the default; an unset one leaves it.
func TestEmptyVariableClears(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	body := "domains: [chat.test]\nwiki:\n  dsn: \"r:p@tcp(127.0.0.1:3306)/x\"\n  query_timeout: 1s\nproxy:\n  websocket_upstream: ws://127.0.0.1:5280/ws\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT": "", "LIVECHAT_AUTH_PROXY_WEBSOCKET_UPSTREAM": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := Load(path, Getenv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	if c.Wiki.QueryTimeout != Default().Wiki.QueryTimeout || c.Proxy.WebSocketUpstream != "" || c.Wiki.DSN == "" {
		t.Errorf("cleared: query_timeout %v, upstream %q, dsn kept %v", c.Wiki.QueryTimeout, c.Proxy.WebSocketUpstream, c.Wiki.DSN != "")
	}
	if g := Getenv(lookup)("LIVECHAT_AUTH_CONFIG"); g != "" {
		t.Errorf("a variable that is no setting answered %q", g)
	}
}

// TestLoadYAMLForms: YAML's merge keys, its boolean and number spellings
// load; a second document, quoted numbers, a unitless duration and
// unknown keys inside rooms' entries are named problems.
func TestLoadYAMLForms(t *testing.T) {
	write := func(body string) string {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	noEnv := func(string) string { return "" }
	base := "domains: [chat.test]\nbase: &b {dsn: \"r:p@tcp(127.0.0.1:3306)/x\"}\n"
	_ = base
	ok := "domains: [chat.test]\nwiki: &w\n  dsn: \"r:p@tcp(127.0.0.1:3306)/x\"\nstrict: True\nauth:\n  max_failures: 0x10\n"
	c, err := Load(write(ok), noEnv)
	if err != nil || !c.Strict || c.Auth.MaxFailures != 16 {
		t.Errorf("True and 0x10: %+v %v", c.Auth, err)
	}
	for body, want := range map[string]string{
		ok + "---\nstrict: false\n":                                                                     "more than one YAML document",
		ok + "rooms:\n  rules:\n    - {group: G, rooms: [r], bogus: 1}\n":                               "rooms.rules[0].bogus: unknown setting",
		ok + "rooms:\n  settings:\n    support: {nam: x}\n":                                             "rooms.settings.support.nam: unknown setting",
		"domains: [chat.test]\nwiki: {dsn: \"r:p@tcp(127.0.0.1:3306)/x\", max_open_conns: \"7\"}\n":     "wiki.max_open_conns: must be a whole number, unquoted",
		"domains: [chat.test]\nwiki: {dsn: \"r:p@tcp(127.0.0.1:3306)/x\"}\nauth: {failure_window: 0}\n": "auth.failure_window: must be a duration with its unit",
		"domains: [chat.test]\nwiki: {dsn_file: /nonexistent/dsn}\n":                                    "wiki.dsn_file: open /nonexistent/dsn",
	} {
		_, err := Load(write(body), noEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", body, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "wiki.dsn: required") {
			t.Errorf("%q: a false wiki.dsn: required: %v", body, err)
		}
		if err != nil && (strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "unmarshal") || strings.Contains(err.Error(), "config.Room")) {
			t.Errorf("%q: Go's words: %v", body, err)
		}
	}
	env := map[string]string{"LIVECHAT_AUTH_WIKI_DSN": "r:p@tcp(h:1)/x", "LIVECHAT_AUTH_WIKI_DSN_FILE": "/x"}
	if _, err := Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "set only one of LIVECHAT_AUTH_WIKI_DSN and LIVECHAT_AUTH_WIKI_DSN_FILE") {
		t.Errorf("both variables: %v", err)
	}
}

// TestLoadNamesATab: a line indented with a tab is called that, with its
// number, not only in the YAML parser's words.
func TestLoadNamesATab(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("domains: [chat.test]\nwiki:\n\tdsn: \"r:p@tcp(127.0.0.1:3306)/tiki\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "line 3 is indented with a tab") {
		t.Errorf("Load: %v", err)
	}
}

// TestLoadTabOnlyWhenItIsTheProblem: a tab in a block scalar is valid
// YAML; another error elsewhere is not called a tab.
func TestLoadTabOnlyWhenItIsTheProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	body := "domains: [chat.test]\nnote: |\n  a\n  \tb\nwiki:\n  dsn: \"unclosed\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, func(string) string { return "" })
	if err == nil || strings.Contains(err.Error(), "tab") {
		t.Errorf("Load: %v; want the YAML error, not a tab", err)
	}
}
