package app

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauthd"
)

// TestFindControlTrustsNoStandIn: root sees every user's folder, and a
// local user can put a socket of the right name in a folder of their
// own. A socket not answered by a process of the folder's owner running
// this program (here: a listener of the test, and a socket no one
// answers on) is never asked.
func TestFindControlTrustsNoStandIn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make folders of other users")
	}
	tmp := t.TempDir()
	env := map[string]string{"TMPDIR": tmp, "LIVECHAT_AUTH_DOMAINS": "chat.test"}
	getenv := func(k string) string { return env[k] }
	name := extauthd.ControlSocket(autoSocketName("", getenv))
	for i, uid := range []int{109, 1000} {
		dir := filepath.Join(tmp, fmt.Sprintf("livechat-auth-%d", uid))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("unix", filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			defer ln.Close() // answered, by the wrong process
		} else {
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close() // left behind, answered by no one
		}
		for _, p := range []string{dir, filepath.Join(dir, name)} {
			if err := os.Lchown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := FindControl(config.Config{}, "", getenv)
	if err == nil || !strings.Contains(err.Error(), "no automatic daemon runs") {
		t.Fatalf("FindControl: %v, want no daemon found", err)
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
