package config

// Secrets lists every secret the settings hold and the file that holds
// it: each *_file setting with its own file (as SecretFiles), and each
// secret written in the config file itself, keyed by its setting
// ("session.key") with the config file's path ("": none). A secret with
// no file of its own is taken to be written there, as HoldsInlineSecret
// takes it, though a LIVECHAT_AUTH_* variable may have set it. Values
// are never returned.
func (c Config) Secrets(path string) []SecretFile {
	out := c.SecretFiles()
	if path == "" {
		return out
	}
	for _, s := range []struct {
		key  string
		v    Secret
		file string
	}{
		{"wiki.dsn", c.Wiki.DSN, c.Wiki.DSNFile},
		{"token.secret", c.Token.Secret, c.Token.SecretFile},
		{"token.previous_secret", c.Token.PreviousSecret, ""},
		{"session.key", c.Session.Key, c.Session.KeyFile},
		{"httpauth.secret", c.HTTPAuth.Secret, c.HTTPAuth.SecretFile},
		{"rooms.password", c.Rooms.Password, c.Rooms.PasswordFile},
		{"state.redis_url", c.State.RedisURL, c.State.RedisURLFile},
		{"state.redis_password", c.State.RedisPassword, c.State.RedisPasswordFile},
		{"status.secret", c.Status.Secret, c.Status.SecretFile},
	} {
		if s.v != "" && s.file == "" {
			out = append(out, SecretFile{Key: s.key, Path: path})
		}
	}
	return out
}
