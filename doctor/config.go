package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"livechat-auth/config"
)

// checkConfig reads and validates the settings as this user (me).
func (d *report) checkConfig(path string, getenv func(string) string, me string) (config.Config, bool) {
	if path != "" {
		f, err := os.Open(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.say(verdictFail, fmt.Sprintf("config %s: not found", path),
				"check the path given with --config or LIVECHAT_AUTH_CONFIG (the chat server's extauth_program names the same)")
			return config.Config{}, false
		case err != nil:
			group := d.group
			if group == "" {
				group = "GROUP"
			}
			d.say(verdictFail, fmt.Sprintf("config %s: cannot be read as %s: %v", path, me, errors.Unwrap(err)),
				"make it readable by this user, e.g. chgrp "+group+" "+path+" && chmod 640 "+path+" (and the folders above it searchable)")
			return config.Config{}, false
		}
		f.Close()
	}
	cfg, err := config.Load(path, getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		d.say(verdictFail, "settings: "+config.OneLine(err), "fix the settings named; livechat-auth check"+d.configFlag()+" USER@DOMAIN shows the same")
		return cfg, false
	}
	where := path
	if where == "" {
		where = "(no file: LIVECHAT_AUTH_* variables only)"
	}
	d.say(verdictOK, "config "+where+" readable and valid", "")
	return cfg, true
}

// checkSecretFiles warns about secret and key files (and a config file
// holding a secret) every user may read, as serve and extauth do at
// start, and about ones others than their owner may write.
func (d *report) checkSecretFiles(cfg config.Config, cfgPath string) {
	for _, w := range cfg.ExposedFiles(cfgPath) {
		d.say(verdictWarn, w.Problem, w.Fix+" (owner and the file's group keep reading it)")
	}
	files := cfg.SecretFiles()
	if cfgPath != "" {
		files = append(files, config.SecretFile{Key: "the config file", Path: cfgPath})
	}
	for _, f := range files {
		if fi, err := os.Stat(f.Path); err == nil && fi.Mode().Perm()&0o022 != 0 {
			d.say(verdictWarn, fmt.Sprintf("%s %s is writable by others than its owner (mode %04o)", f.Key, f.Path, fi.Mode().Perm()), "chmod go-w "+f.Path)
		}
	}
}
