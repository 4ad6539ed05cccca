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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestStatusPage: ejabberd's sign-ins relay to serve; the status page,
// opened in headless Chromium with its secret, shows the accepted and
// refused sign-ins and the lock they made, and its button clears the
// lock, after which the locked user signs in again. The locks of names
// that are no wiki account (here 30 accounts locked by wrong passwords,
// then deleted from the wiki) are kept out of the accounts' table:
// counted, in a collapsed list that opens without script; the locks
// subcommand lists them after the accounts'. Without the secret the page
// and the button are refused. The screenshot lands in
// test/artifacts/status.png.
func TestStatusPage(t *testing.T) {
	needBrowser(t)

	w := newWiki(t)
	const host = "chat.test"
	const secret = "the status page's own secret"
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	statusPort := freePort(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf(
		"extauth:\n  daemon_socket: %q\nauth:\n  max_failures: 2\n  failure_window: 10m\nstatus:\n  listen: 127.0.0.1:%d\n  secret: %q\n", socket, statusPort, secret))
	// No account cache: the page sees a deleted account at once.
	servePort := freePort(t)
	startServeOn(t, cfgPath, servePort, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", servePort), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0s")
	waitSocket(t, socket)
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, PoolSize: 4})
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
	// 30 accounts, each locked by 3 wrong passwords on the chat port,
	// then deleted from the wiki: their locks stay, of names nobody has.
	// Their names sort before bob's, who is listed first all the same.
	const gone = 30
	var nobody []string
	for i := range gone {
		name := fmt.Sprintf("alumni%02d", i)
		nobody = append(nobody, name)
		mustExec(t, w.Root, `INSERT INTO users_users (userId, login, email, hash, livechat_id, pass_confirm, registrationDate, created, password)
			SELECT ?, ?, ?, hash, ?, pass_confirm, registrationDate, created, password FROM users_users WHERE login = 'alice'`,
			1000+i, name, name+"@example.org", name)
	}
	var wg sync.WaitGroup
	var signedIn atomic.Int32
	sem := make(chan struct{}, 6)
	for _, name := range nobody {
		for range 3 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if goSignIn(ctx, addr, name+"@"+host, "not the password") == nil {
					signedIn.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if n := signedIn.Load(); n != 0 {
		t.Fatalf("%d sign-ins with a wrong password were accepted", n)
	}
	mustExec(t, w.Root, "DELETE FROM users_users WHERE userId >= 1000")

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

	// The locks subcommand splits them the same way: stdout one line a
	// lock, bob's first, the kind of the others said on stderr.
	locksCmd := exec.Command(binPath, "locks", "--config", cfgPath)
	locksCmd.Env = []string{"PATH=/usr/bin:/bin"}
	var locksErr strings.Builder
	locksCmd.Stderr = &locksErr
	locksOut, err := locksCmd.Output()
	lines := strings.Split(strings.TrimSuffix(string(locksOut), "\n"), "\n")
	if err != nil || len(lines) != 1+gone || !strings.HasPrefix(lines[0], "bob: locked after 3 failed sign-ins") ||
		!strings.HasPrefix(lines[1], "alumni00: locked after 3 failed sign-ins") || !strings.HasPrefix(lines[gone], "alumni29: ") ||
		locksErr.String() != fmt.Sprintf("unknown-user: %d locks of no wiki account\n", gone) {
		t.Errorf("locks: %v\nstdout:\n%s\nstderr:\n%s", err, locksOut, locksErr.String())
	}

	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs("artifacts/status.png")
	out, err := exec.Command("node", "browser/status.mjs", page, secret, shot, "bob").CombinedOutput()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	type other struct {
		Name, Kind string
		Visible    bool
	}
	var seen struct {
		Status        int
		Before, After struct {
			Decisions []struct {
				Edge, Result  string
				Last5, Last60 int
			}
			Locks, Health, Features []string
			Others                  []other
			OthersOpen              []bool
			OthersSummary           []string
			OthersMore              []string
			ChartBars               int
		}
		Done     string
		Expanded []string
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
	if seen.Status != 200 || count("accepted") < 1 || count("bad-password") != 3+3*gone || count("rate-limited") != 1 {
		t.Errorf("decisions on the page: %+v", seen.Before.Decisions)
	}
	if seen.Before.ChartBars == 0 {
		t.Error("no bar in the chart")
	}
	if len(seen.Before.Locks) != 1 || seen.Before.Locks[0] != "bob" || len(seen.After.Locks) != 0 || seen.Done != "cleared the lock on bob" {
		t.Errorf("locks before %v, after %v, %q", seen.Before.Locks, seen.After.Locks, seen.Done)
	}
	// The names nobody has now: apart, collapsed, counted, every one
	// listed (30 is under the page's cap of rows), none open before asked.
	for when, v := range map[string]struct {
		others  []other
		open    []bool
		summary []string
		more    []string
	}{"before": {seen.Before.Others, seen.Before.OthersOpen, seen.Before.OthersSummary, seen.Before.OthersMore},
		"after": {seen.After.Others, seen.After.OthersOpen, seen.After.OthersSummary, seen.After.OthersMore}} {
		var names []string
		for _, o := range v.others {
			if o.Kind != "unknown-user" || o.Visible {
				t.Errorf("%s: the lock of %s shows as %q, visible %v; want unknown-user, hidden", when, o.Name, o.Kind, o.Visible)
			}
			names = append(names, o.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, nobody) {
			t.Errorf("%s: other locks %v; want %v", when, names, nobody)
		}
		if len(v.open) != 1 || v.open[0] {
			t.Errorf("%s: the other locks' list is open (or missing): %v", when, v.open)
		}
		if len(v.summary) != 1 || !strings.HasPrefix(v.summary[0], fmt.Sprintf("%d locks of names that are no wiki account", gone)) ||
			!strings.Contains(v.summary[0], fmt.Sprintf("unknown-user: %d", gone)) {
			t.Errorf("%s: summary %q", when, v.summary)
		}
		if len(v.more) != 0 {
			t.Errorf("%s: %q under 100 rows", when, v.more)
		}
	}
	slices.Sort(seen.Expanded)
	if !slices.Equal(seen.Expanded, nobody) {
		t.Errorf("opened, the list shows %v; want %v", seen.Expanded, nobody)
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
