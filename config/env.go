package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "LIVECHAT_AUTH_"

// envVar maps one file key to its environment variable.
type envVar struct {
	key string // file key, e.g. "wiki.dsn"
	set func(c *Config, v string) error
}

// Name is the environment variable of the key.
func (e envVar) Name() string { return EnvName(e.key) }

// EnvName is the environment variable the naming rule gives a file key:
// wiki.query_timeout is LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT. Only the keys
// EnvNames lists are read from the environment.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envVars lists every key, written out so that each one is greppable.
var envVars = []envVar{
	{"domains", func(c *Config, v string) error { c.Domains = splitList(v); return nil }},
	{"strict", boolVar(func(c *Config) *bool { return &c.Strict })},
	{"wiki.dsn", func(c *Config, v string) error { c.Wiki.DSN, c.Wiki.DSNFile = Secret(v), ""; return nil }},
	{"wiki.dsn_file", func(c *Config, v string) error { c.Wiki.DSNFile, c.Wiki.DSN = v, ""; return nil }},
	{"wiki.query_timeout", durationVar(func(c *Config) *time.Duration { return &c.Wiki.QueryTimeout })},
	{"wiki.max_open_conns", intVar(func(c *Config) *int { return &c.Wiki.MaxOpenConns })},
	{"wiki.prefs_refresh", durationVar(func(c *Config) *time.Duration { return &c.Wiki.PrefsRefresh })},
	{"wiki.account_cache", durationVar(func(c *Config) *time.Duration { return &c.Wiki.AccountCache })},
	{"auth.cache_ttl", durationVar(func(c *Config) *time.Duration { return &c.Auth.CacheTTL })},
	{"auth.cache_size", intVar(func(c *Config) *int { return &c.Auth.CacheSize })},
	{"auth.max_failures", intVar(func(c *Config) *int { return &c.Auth.MaxFailures })},
	{"auth.failure_window", durationVar(func(c *Config) *time.Duration { return &c.Auth.FailureWindow })},
	{"auth.outage_grace", durationVar(func(c *Config) *time.Duration { return &c.Auth.OutageGrace })},
	{"extauth.request_timeout", durationVar(func(c *Config) *time.Duration { return &c.Extauth.RequestTimeout })},
	{"extauth.daemon_socket", func(c *Config, v string) error { c.Extauth.DaemonSocket = v; return nil }},
	{"extauth.listen", func(c *Config, v string) error { c.Extauth.Listen = v; return nil }},
	{"serve.listen", func(c *Config, v string) error { c.Serve.Listen = v; return nil }},
	{"serve.request_timeout", durationVar(func(c *Config) *time.Duration { return &c.Serve.RequestTimeout })},
	{"token.algorithms", func(c *Config, v string) error { c.Token.Algorithms = splitList(v); return nil }},
	{"token.signing_key_file", func(c *Config, v string) error { c.Token.SigningKeyFile = v; return nil }},
	{"token.secret", func(c *Config, v string) error { c.Token.Secret, c.Token.SecretFile = Secret(v), ""; return nil }},
	{"token.secret_file", func(c *Config, v string) error { c.Token.SecretFile, c.Token.Secret = v, ""; return nil }},
	{"token.secret_kid", func(c *Config, v string) error { c.Token.SecretKID = v; return nil }},
	{"token.previous_secret", func(c *Config, v string) error { c.Token.PreviousSecret = Secret(v); return nil }},
	{"token.previous_secret_kid", func(c *Config, v string) error { c.Token.PreviousSecretKID = v; return nil }},
	{"token.public_key_files", func(c *Config, v string) error { c.Token.PublicKeyFiles = splitList(v); return nil }},
	{"token.jwks_url", func(c *Config, v string) error { c.Token.JWKSURL = v; return nil }},
	{"token.jwks_refresh", durationVar(func(c *Config) *time.Duration { return &c.Token.JWKSRefresh })},
	{"token.issuer", func(c *Config, v string) error { c.Token.Issuer = v; return nil }},
	{"token.audience", func(c *Config, v string) error { c.Token.Audience = v; return nil }},
	{"token.lifetime", durationVar(func(c *Config) *time.Duration { return &c.Token.Lifetime })},
	{"token.subject_claim", func(c *Config, v string) error { c.Token.SubjectClaim = v; return nil }},
	{"token.subject", func(c *Config, v string) error { c.Token.Subject = v; return nil }},
	{"token.replay_protection", boolVar(func(c *Config) *bool { return &c.Token.ReplayProtection })},
	{"token.used_file", func(c *Config, v string) error { c.Token.UsedFile = v; return nil }},
	{"session.key", func(c *Config, v string) error { c.Session.Key, c.Session.KeyFile = Secret(v), ""; return nil }},
	{"session.key_file", func(c *Config, v string) error { c.Session.KeyFile, c.Session.Key = v, ""; return nil }},
	{"session.max_skew", durationVar(func(c *Config) *time.Duration { return &c.Session.MaxSkew })},
	{"session.domain", func(c *Config, v string) error { c.Session.Domain = v; return nil }},
	{"session.websocket_url", func(c *Config, v string) error { c.Session.WebSocketURL = v; return nil }},
	{"session.bosh_url", func(c *Config, v string) error { c.Session.BOSHURL = v; return nil }},
	{"session.migration_url", func(c *Config, v string) error { c.Session.MigrationURL = v; return nil }},
	{"session.avatar_url", func(c *Config, v string) error { c.Session.AvatarURL = v; return nil }},
	{"session.vcard_api_url", func(c *Config, v string) error { c.Session.VCardAPIURL = v; return nil }},
	{"migration.enabled", boolVar(func(c *Config) *bool { return &c.Migration.Enabled })},
	{"migration.old_account", func(c *Config, v string) error { c.Migration.OldAccount = v; return nil }},
	{"migration.ejabberd_api_url", func(c *Config, v string) error { c.Migration.EjabberdAPIURL = v; return nil }},
	{"proxy.websocket_path", func(c *Config, v string) error { c.Proxy.WebSocketPath = v; return nil }},
	{"proxy.websocket_upstream", func(c *Config, v string) error { c.Proxy.WebSocketUpstream = v; return nil }},
	{"proxy.bosh_path", func(c *Config, v string) error { c.Proxy.BOSHPath = v; return nil }},
	{"proxy.bosh_upstream", func(c *Config, v string) error { c.Proxy.BOSHUpstream = v; return nil }},
	{"proxy.host_header", func(c *Config, v string) error { c.Proxy.HostHeader = v; return nil }},
	{"httpauth.path", func(c *Config, v string) error { c.HTTPAuth.Path = v; return nil }},
	{"httpauth.secret", func(c *Config, v string) error { c.HTTPAuth.Secret, c.HTTPAuth.SecretFile = Secret(v), ""; return nil }},
	{"httpauth.secret_file", func(c *Config, v string) error { c.HTTPAuth.SecretFile, c.HTTPAuth.Secret = v, ""; return nil }},
	{"httpauth.allow_no_secret", boolVar(func(c *Config) *bool { return &c.HTTPAuth.AllowNoSecret })},
	{"httpauth.timeout", durationVar(func(c *Config) *time.Duration { return &c.HTTPAuth.Timeout })},
	{"rooms.jid", func(c *Config, v string) error { c.Rooms.JID = v; return nil }},
	{"rooms.password", func(c *Config, v string) error { c.Rooms.Password, c.Rooms.PasswordFile = Secret(v), ""; return nil }},
	{"rooms.password_file", func(c *Config, v string) error { c.Rooms.PasswordFile, c.Rooms.Password = v, ""; return nil }},
	{"rooms.server", func(c *Config, v string) error { c.Rooms.Server = v; return nil }},
	{"rooms.tls", func(c *Config, v string) error { c.Rooms.TLS = v; return nil }},
	{"rooms.service", func(c *Config, v string) error { c.Rooms.Service = v; return nil }},
	{"rooms.interval", durationVar(func(c *Config) *time.Duration { return &c.Rooms.Interval })},
	{"rooms.room_timeout", durationVar(func(c *Config) *time.Duration { return &c.Rooms.RoomTimeout })},
	{"state.redis_url", func(c *Config, v string) error { c.State.RedisURL, c.State.RedisURLFile = Secret(v), ""; return nil }},
	{"state.redis_url_file", func(c *Config, v string) error { c.State.RedisURLFile, c.State.RedisURL = v, ""; return nil }},
	{"state.redis_password", func(c *Config, v string) error {
		c.State.RedisPassword, c.State.RedisPasswordFile = Secret(v), ""
		return nil
	}},
	{"state.redis_password_file", func(c *Config, v string) error { c.State.RedisPasswordFile, c.State.RedisPassword = v, ""; return nil }},
	{"state.redis_ca_file", func(c *Config, v string) error { c.State.RedisCAFile = v; return nil }},
	{"state.key_prefix", func(c *Config, v string) error { c.State.KeyPrefix = v; return nil }},
	{"state.timeout", durationVar(func(c *Config) *time.Duration { return &c.State.Timeout })},
	{"status.listen", func(c *Config, v string) error { c.Status.Listen = v; return nil }},
	{"status.secret", func(c *Config, v string) error { c.Status.Secret, c.Status.SecretFile = Secret(v), ""; return nil }},
	{"status.secret_file", func(c *Config, v string) error { c.Status.SecretFile, c.Status.Secret = v, ""; return nil }},
	{"end_sessions.enabled", boolVar(func(c *Config) *bool { return &c.EndSessions.Enabled })},
	{"end_sessions.bound", durationVar(func(c *Config) *time.Duration { return &c.EndSessions.Bound })},
	{"log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"log.file", func(c *Config, v string) error { c.Log.File = v; return nil }},
}

// EnvNames returns every override variable, in the order of the keys.
func EnvNames() []string {
	names := make([]string, len(envVars))
	for i, e := range envVars {
		names[i] = e.Name()
	}
	return names
}

// Cleared is what a getenv answers for a setting's variable that is set
// but empty (no real value holds a NUL byte): such a variable clears the
// file's value back to the default. A getenv that cannot tell (one that
// answers "" for unset) simply never clears.
const Cleared = "\x00"

// Getenv wraps lookup (os.LookupEnv) as the getenv Load takes: a setting's
// variable set but empty answers Cleared.
func Getenv(lookup func(string) (string, bool)) func(string) string {
	settings := map[string]bool{}
	for _, n := range EnvNames() {
		settings[n] = true
	}
	return func(name string) string {
		v, ok := lookup(name)
		if ok && v == "" && settings[name] {
			return Cleared
		}
		return v
	}
}

// applyEnv overrides c with every variable that is set and not empty;
// one set but empty (Cleared) puts the key back to its default. Values
// are never echoed in errors: some are secrets.
func applyEnv(c *Config, getenv func(string) string) error {
	var errs []error
	for _, e := range envVars {
		if file, ok := strings.CutSuffix(e.key, "_file"); ok {
			if pair := (envVar{key: file}); getenv(pair.Name()) != "" && getenv(pair.Name()) != Cleared && getenv(e.Name()) != "" && getenv(e.Name()) != Cleared {
				errs = append(errs, fmt.Errorf("%s, %s: set only one of %s and %s", file, e.key, pair.Name(), e.Name()))
			}
		}
	}
	for _, e := range envVars {
		v := getenv(e.Name())
		if v == Cleared {
			resetKey(c, e.key)
			continue
		}
		if v == "" {
			continue
		}
		if err := e.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", e.key, e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func durationVar(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration such as 5s or 1m")
		}
		*field(c) = d
		return nil
	}
}

func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		*field(c) = n
		return nil
	}
}

func boolVar(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false")
		}
		*field(c) = b
		return nil
	}
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// resetKey sets the dotted key of c back to its default value.
func resetKey(c *Config, key string) {
	def := Default()
	dst, src := reflect.ValueOf(c).Elem(), reflect.ValueOf(&def).Elem()
	for _, part := range strings.Split(key, ".") {
		found := false
		for i := 0; i < dst.NumField(); i++ {
			if name, _, _ := strings.Cut(dst.Type().Field(i).Tag.Get("yaml"), ","); name == part {
				dst, src, found = dst.Field(i), src.Field(i), true
				break
			}
		}
		if !found {
			return
		}
	}
	dst.Set(src)
}
