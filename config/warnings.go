package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// otherVariables start with EnvPrefix but set no key: the config file's
// path, and what the tests, the demo and the wiki's PHP example read.
var otherVariables = map[string]bool{
	EnvPrefix + "CONFIG": true, EnvPrefix + "TEST_ROOT_DSN": true, EnvPrefix + "DEMO_PORT": true,
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

// ExposedFiles lists the secret and key files every user of the machine
// may read, each with its key and mode. Group read is left alone: that is
// how the chat server's user is given them.
func (c Config) ExposedFiles() []string {
	var out []string
	for _, f := range []struct{ key, path string }{
		{"wiki.dsn_file", c.Wiki.DSNFile}, {"token.signing_key_file", c.Token.SigningKeyFile},
		{"token.secret_file", c.Token.SecretFile}, {"session.key_file", c.Session.KeyFile},
		{"httpauth.secret_file", c.HTTPAuth.SecretFile}, {"rooms.password_file", c.Rooms.PasswordFile},
		{"state.redis_url_file", c.State.RedisURLFile}, {"state.redis_password_file", c.State.RedisPasswordFile},
		{"status.secret_file", c.Status.SecretFile},
	} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err == nil && fi.Mode().Perm()&0o004 != 0 {
			out = append(out, fmt.Sprintf("%s: %s is readable by every user (mode %04o): chmod o-r %s", f.key, f.path, fi.Mode().Perm(), f.path))
		}
	}
	return out
}
