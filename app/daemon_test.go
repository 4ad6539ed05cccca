package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livechat-auth/config"
)

// TestFindControl: the control socket is serve's when
// extauth.daemon_socket names one, none when it is off, and otherwise the
// automatic daemon's of these settings, found only when one answers
// (which socket extauthd.FindControl trusts is tested there).
func TestFindControl(t *testing.T) {
	env := map[string]string{"TMPDIR": t.TempDir(), "LIVECHAT_AUTH_DOMAINS": "chat.test"}
	getenv := func(k string) string { return env[k] }
	var cfg config.Config
	cfg.Extauth.DaemonSocket = config.DaemonOff
	if _, err := FindControl(cfg, "", getenv); err == nil || !strings.Contains(err.Error(), "off") {
		t.Errorf("daemon_socket off: %v; want an error naming it", err)
	}
	cfg.Extauth.DaemonSocket = "/run/livechat-auth/extauth.sock"
	if c, err := FindControl(cfg, "", getenv); err != nil || c == nil {
		t.Errorf("daemon_socket set: %v, %v; want serve's control client", c, err)
	}
	cfg.Extauth.DaemonSocket = ""
	if _, err := FindControl(cfg, "", getenv); err == nil || !strings.Contains(err.Error(), "no automatic daemon runs") {
		t.Errorf("no daemon running: %v; want no daemon found", err)
	}
}

// TestSettingsKeyFollowsLinks: a config file named through a symbolic
// link is the same configuration as the file itself, so operators reach
// the daemon ejabberd's processes use whichever name they type.
func TestSettingsKeyFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(real, []byte("domains: [chat.test]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	if SettingsKey(real, noEnv) != SettingsKey(link, noEnv) {
		t.Error("a link to the config file makes another daemon key")
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("domains: [chat.test]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if SettingsKey(real, noEnv) == SettingsKey(other, noEnv) {
		t.Error("two config files share a daemon key")
	}
}
