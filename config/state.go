package config

import (
	"errors"
	"net/url"
	"time"
)

// State is where sidecars keep what they share: the record of used
// tokens, the failure counts and the session API's used requests. Empty
// (the default): each serve or automatic daemon keeps its own.
type State struct {
	// state.redis_url, LIVECHAT_AUTH_STATE_REDIS_URL: the Redis every
	// sidecar of a cluster shares: redis://[user:password@]host:6379/0,
	// rediss:// for TLS, or unix:///path/redis.sock. Empty (the default):
	// no sharing.
	RedisURL Secret `yaml:"redis_url"`
	// state.redis_url_file, LIVECHAT_AUTH_STATE_REDIS_URL_FILE: read the
	// URL from a file (it may hold a password).
	RedisURLFile string `yaml:"redis_url_file"`
	// state.redis_password, LIVECHAT_AUTH_STATE_REDIS_PASSWORD: replaces
	// the URL's password (Redis AUTH).
	RedisPassword Secret `yaml:"redis_password"`
	// state.redis_password_file, LIVECHAT_AUTH_STATE_REDIS_PASSWORD_FILE:
	// read it from a file.
	RedisPasswordFile string `yaml:"redis_password_file"`
	// state.redis_ca_file, LIVECHAT_AUTH_STATE_REDIS_CA_FILE: PEM roots
	// that verify a rediss:// server. Default: the system's.
	RedisCAFile string `yaml:"redis_ca_file"`
	// state.key_prefix, LIVECHAT_AUTH_STATE_KEY_PREFIX: every key starts
	// with it; the sidecars of one cluster share it, and another cluster
	// on the same Redis needs another. Default "livechat-auth:".
	KeyPrefix string `yaml:"key_prefix"`
	// state.timeout, LIVECHAT_AUTH_STATE_TIMEOUT: bound of connecting to
	// Redis and of each command; past it Redis counts as unreachable.
	// Default 250ms.
	Timeout time.Duration `yaml:"timeout"`
}

// Enabled reports whether state is shared in Redis.
func (s State) Enabled() bool { return s.RedisURL != "" }

func (c *Config) validateState() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	s := c.State
	if !s.Enabled() {
		if s.RedisPassword != "" {
			bad(fromFile("state.redis_password", "state.redis_password_file", s.RedisPasswordFile), "set without state.redis_url")
		}
		if s.RedisCAFile != "" {
			bad("state.redis_ca_file", "set without state.redis_url")
		}
		return errs
	}
	key := fromFile("state.redis_url", "state.redis_url_file", s.RedisURLFile)
	u, err := url.Parse(string(s.RedisURL))
	switch {
	case err != nil:
		bad(key, "not a URL such as redis://127.0.0.1:6379/0")
	case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
		bad(key, "must start with redis://, rediss:// (TLS) or unix://")
	case u.Scheme != "unix" && u.Host == "":
		bad(key, "names no host (redis://host:6379/0)")
	}
	if s.RedisCAFile != "" && (u == nil || u.Scheme != "rediss") {
		bad("state.redis_ca_file", "only with a rediss:// URL")
	}
	if s.KeyPrefix == "" {
		bad("state.key_prefix", "must not be empty: it keeps the keys apart from others in the same Redis")
	}
	if s.Timeout <= 0 || s.Timeout > 5*time.Second {
		bad("state.timeout", s.Timeout.String()+" is not in (0, 5s]: every sign-in may wait this long for Redis")
	}
	return errs
}
