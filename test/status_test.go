package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusPage: ejabberd's sign-ins relay to serve; the status page,
// opened in headless Chromium with its secret, shows the accepted and
// refused sign-ins and the lock they made, and its button clears the
// lock, after which the locked user signs in again. Without the secret
// the page and the button are refused. The screenshot lands in
// test/artifacts/status.png.
func TestStatusPage(t *testing.T) {
	need(t, "chromium", have("/usr/bin/chromium"), "apt-get install chromium")
	need(t, "node", have("node"), "install Node.js")
	_, err := os.Stat("browser/node_modules/playwright-core")
	need(t, "playwright-core", err == nil, "cd test/browser && npm ci")

	w := newWiki(t)
	const host = "chat.test"
	const secret = "the status page's own secret"
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	statusPort := freePort(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf(
		"extauth:\n  daemon_socket: %q\nauth:\n  max_failures: 2\nstatus:\n  listen: 127.0.0.1:%d\n  secret: %q\n", socket, statusPort, secret))
	startServe(t, cfgPath)
	waitSocket(t, socket)
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	page := fmt.Sprintf("http://127.0.0.1:%d/", statusPort)

	ctx := context.Background()
	if err := goSignIn(ctx, addr, "alice@"+host, "alice-pw-1"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := goSignIn(ctx, addr, "bob@"+host, "not bob's"); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	if err := goSignIn(ctx, addr, "bob@"+host, "bob-pw-12"); err == nil {
		t.Fatal("bob is not locked after 3 failures with a limit of 2")
	}

	// Without the secret: refused, the page and the button.
	if code, _ := get(t, page); code != http.StatusUnauthorized {
		t.Errorf("the page without the secret: %d", code)
	}
	resp, err := http.PostForm(page+"locks/clear", url.Values{"name": {"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("clearing without the secret: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, page+"locks/clear", strings.NewReader("name=bob"))
	req.SetBasicAuth("operator", secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("clearing with the secret but without the form's token: %v %v", resp.StatusCode, err)
	}

	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs("artifacts/status.png")
	out, err := exec.Command("node", "browser/status.mjs", page, secret, shot, "bob").CombinedOutput()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	var seen struct {
		Status        int
		Before, After struct {
			Decisions []struct {
				Edge, Result  string
				Last5, Last60 int
			}
			Locks, Health, Features []string
			ChartBars               int
		}
		Done string
	}
	if err := json.Unmarshal(out[strings.LastIndex(string(out[:len(out)-1]), "\n")+1:], &seen); err != nil {
		t.Fatalf("browser output: %v\n%s", err, out)
	}
	count := func(result string) int {
		for _, d := range seen.Before.Decisions {
			if d.Edge == "extauth" && d.Result == result {
				return d.Last5
			}
		}
		return 0
	}
	if seen.Status != 200 || count("accepted") < 1 || count("bad-password") != 3 || count("rate-limited") != 1 {
		t.Errorf("decisions on the page: %+v", seen.Before.Decisions)
	}
	if seen.Before.ChartBars == 0 {
		t.Error("no bar in the chart")
	}
	if len(seen.Before.Locks) != 1 || seen.Before.Locks[0] != "bob" || len(seen.After.Locks) != 0 || seen.Done != "cleared the lock on bob" {
		t.Errorf("locks before %v, after %v, %q", seen.Before.Locks, seen.After.Locks, seen.Done)
	}
	health := strings.Join(seen.Before.Health, "\n")
	if !strings.Contains(health, "wiki database OK") {
		t.Errorf("health: %s", health)
	}
	if !strings.Contains(strings.Join(seen.Before.Features, "\n"), "ejabberd extauth socket on") {
		t.Errorf("features: %v", seen.Before.Features)
	}
	if err := goSignIn(ctx, addr, "bob@"+host, "bob-pw-12"); err != nil {
		t.Errorf("bob after the lock was cleared on the page: %v", err)
	}
}
