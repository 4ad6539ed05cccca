package config

import (
	"sort"
	"strings"
)

// otherVariables start with EnvPrefix but set no key: the config file's
// path, and what the tests, the demo and the wiki's PHP example read.
var otherVariables = map[string]bool{
	EnvPrefix + "CONFIG": true, EnvPrefix + "TEST_ROOT_DSN": true, EnvPrefix + "DEMO_PORT": true, EnvPrefix + "DEMO_STATUS_PORT": true,
	EnvPrefix + "URL": true,
}

// UnknownEnv returns, for each variable of environ (os.Environ's form)
// that starts with LIVECHAT_AUTH_ and names no setting, a line saying so,
// with the nearest known name when one is close. Values are never shown.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, n := range EnvNames() {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || known[name] || otherVariables[name] {
			continue
		}
		msg := name + ": names no setting; it is ignored"
		if near := nearestName(name, known); near != "" {
			msg += " (did you mean " + near + "?)"
		}
		out = append(out, msg)
	}
	sort.Strings(out)
	return out
}

// nearestName is the known name closest to name, within a few edits.
func nearestName(name string, known map[string]bool) string {
	best, bestD := "", 4
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

// SecretFile is a setting naming a file that holds a secret or a key.
type SecretFile struct{ Key, Path string }

// SecretFiles lists the secret and key files the settings name.
func (c Config) SecretFiles() []SecretFile {
	var out []SecretFile
	for _, f := range []SecretFile{
		{"wiki.dsn_file", c.Wiki.DSNFile}, {"token.signing_key_file", c.Token.SigningKeyFile},
		{"token.secret_file", c.Token.SecretFile}, {"session.key_file", c.Session.KeyFile},
		{"httpauth.secret_file", c.HTTPAuth.SecretFile}, {"rooms.password_file", c.Rooms.PasswordFile},
		{"state.redis_url_file", c.State.RedisURLFile}, {"state.redis_password_file", c.State.RedisPasswordFile},
		{"status.secret_file", c.Status.SecretFile},
	} {
		if f.Path != "" {
			out = append(out, f)
		}
	}
	return out
}

// HoldsInlineSecret reports whether the config file itself holds a secret
// (one not read from a *_file setting).
func (c Config) HoldsInlineSecret() bool {
	inline := func(v Secret, file string) bool { return v != "" && file == "" }
	return inline(c.Wiki.DSN, c.Wiki.DSNFile) || inline(c.Token.Secret, c.Token.SecretFile) || c.Token.PreviousSecret != "" ||
		inline(c.Session.Key, c.Session.KeyFile) || inline(c.HTTPAuth.Secret, c.HTTPAuth.SecretFile) ||
		inline(c.Rooms.Password, c.Rooms.PasswordFile) || inline(c.State.RedisURL, c.State.RedisURLFile) ||
		inline(c.State.RedisPassword, c.State.RedisPasswordFile) || inline(c.Status.Secret, c.Status.SecretFile)
}
