package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
)

// TestCredentialsEndpoint: the wiki's PHP endpoint (examples/tiki), run
// by php -S against a real serve, passes the account's own answers
// through as JSON: 200 with the JID and token, 404 for no such account,
// 403 for one that may not chat, 409 for an unmigrated one.
func TestCredentialsEndpoint(t *testing.T) {
	need(t, "php", have("php"), "apt-get install php-cli")
	w := newWiki(t)
	const sessionKey = "the wiki and livechat-auth share this key"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  secret: %q\nsession:\n  key: %q\n", "a token secret of 32 bytes or more!", sessionKey))
	serve := startServe(t, cfgPath)
	for _, c := range []struct {
		user   string
		status int
		error  string
	}{
		{"alice", 200, ""},
		{"nobody", 404, "unknown-user"},
		{"carol-suspended", 403, "suspended"},
		{"rupert", 409, "unmigrated"},
	} {
		t.Run(c.user, func(t *testing.T) {
			if c.user == "carol-suspended" {
				mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE login = 'carol'")
				c.user = "carol"
			}
			port := freePort(t)
			php := exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", mustAbs(t, "../examples/tiki"))
			php.Env = append(os.Environ(), "LIVECHAT_AUTH_URL="+serve.URL, "LIVECHAT_AUTH_SESSION_KEY="+sessionKey, "LIVECHAT_DEMO_USER="+c.user)
			startProcess(t, php, port, "php -S")
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/livechat-credentials.php", port))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var answer map[string]any
			if err := json.Unmarshal(body, &answer); err != nil {
				t.Fatalf("%d, not JSON: %s", resp.StatusCode, body)
			}
			if resp.StatusCode != c.status || (c.error != "" && answer["error"] != c.error) || (c.error == "" && answer["jid"] != "alice@chat.test") {
				t.Errorf("%s: %d %s; want %d %s", c.user, resp.StatusCode, body, c.status, c.error)
			}
			if c.status != 200 {
				return
			}
			if answer["nickname"] != "Alice Liddell" || answer["password"] == nil {
				t.Errorf("credentials: %s", body)
			}
			// ?profile: the display name for the widget, and no password.
			resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/livechat-credentials.php?profile", port))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ = io.ReadAll(resp.Body)
			var profile map[string]any
			if err := json.Unmarshal(body, &profile); err != nil || profile["nickname"] != "Alice Liddell" || profile["jid"] != "alice@chat.test" || profile["password"] != nil {
				t.Errorf("profile: %s", body)
			}
		})
	}
}
