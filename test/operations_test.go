package test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"livechat-auth/xmpp/httpauth"
)

// checkPassword asks serve's HTTP contract, as Prosody's module does.
func checkPassword(t testing.TB, base, secret, user, pass string) (status int, body string, took time.Duration) {
	t.Helper()
	form := url.Values{"user": {user}, "server": {"chat.test"}, "pass": {pass}}
	req, err := http.NewRequest(http.MethodPost, base+"/auth/check_password", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", httpauth.BasicAuthorization("prosody", []byte(secret)))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("check_password: %v", err)
		return 0, "", time.Since(start)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

func get(t testing.TB, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeOperations: health and readiness follow the database, metrics
// count decisions, and SIGHUP reloads settings without a restart.
func TestServeOperations(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	const secret = "the first shared secret, 16+ bytes"
	dir := t.TempDir()
	// No account cache: a row read just before the outage would answer for its bound.
	cfgPath, logPath := writeConfig(t, dir, proxy.DSN(t, w.ReaderDSN), []string{"chat.test"}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0")

	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("readyz %d with the database up", code)
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); body != "true" {
		t.Fatalf("check_password: %q", body)
	}
	checkPassword(t, srv.URL, secret, "alice", "alice-pw-1") // a cache hit
	proxy.Stop()
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz %d with the database down", code)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("healthz %d with the database down: the process is up", code)
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); body != "false" {
		t.Errorf("check_password with the database down: %q", body)
	}
	proxy.Start(t)
	if !eventually(t, 10*time.Second, func() bool { code, _ := get(t, srv.URL+"/readyz"); return code == 200 }) {
		t.Error("not ready after the database came back")
	}
	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="accepted"} 2`,
		`livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="db-unavailable"} 1`,
		`livechat_auth_cache_hits_total{edge="httpauth"} 1`,
		`livechat_auth_db_errors_total{edge="httpauth"} 1`,
		`livechat_auth_decision_seconds_bucket{cmd="check_password",edge="httpauth"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// SIGHUP: a new secret takes over; an invalid file keeps the old settings.
	const rotated = "the rotated shared secret, also long"
	writeConfig(t, dir, proxy.DSN(t, w.ReaderDSN), []string{"chat.test"}, fmt.Sprintf("httpauth:\n  secret: %q\n", rotated))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(logLines(t, logPath, "reloaded", "generation=2")) == 1 }) {
		t.Fatal("the reload was not reported")
	}
	if code, _, _ := checkPassword(t, srv.URL, rotated, "alice", "alice-pw-1"); code != 200 {
		t.Fatalf("the reloaded secret is not accepted: %d", code)
	}
	if code, _, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); code != http.StatusUnauthorized {
		t.Errorf("the old secret still works after the reload: %d", code)
	}
	if err := os.WriteFile(cfgPath, []byte("domains: [\"NOT A DOMAIN\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool {
		return len(logLines(t, logPath, "reload refused", "generation=2", "domains: ")) == 1
	}) {
		t.Fatal("the invalid reload was not reported as refused")
	}
	if code, _, _ := checkPassword(t, srv.URL, rotated, "alice", "alice-pw-1"); code != 200 {
		t.Errorf("an invalid reload broke the running settings: %d", code)
	}
	if code, _, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); code != http.StatusUnauthorized {
		t.Errorf("an invalid reload brought the replaced secret back: %d", code)
	}
}

// TestOutageDuringLoad: the database goes away in the middle of a sign-in
// load and comes back. The process stays up, every answer during the
// outage is "false" once the account cache's bound (wiki.account_cache,
// 1s here) has passed, every answer comes fast (well inside the callers'
// 2 s), and sign-ins succeed again within seconds. The reader can only SELECT, so
// nothing is written.
func TestOutageDuringLoad(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	const secret = "load test shared secret, long enough"
	cfgPath, _ := writeConfig(t, t.TempDir(), proxy.DSN(t, w.ReaderDSN), []string{"chat.test"},
		fmt.Sprintf("httpauth:\n  secret: %q\nauth:\n  max_failures: 0\n", secret))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT=500ms",
		"LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=1s")
	const cacheBound = time.Second + 100*time.Millisecond

	var down atomic.Bool
	var downAt atomic.Int64 // when the outage began, in Unix nanoseconds
	var wrongDuringOutage, slow, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				asked := time.Now()
				wasDown := down.Load() && asked.Sub(time.Unix(0, downAt.Load())) > cacheBound
				_, body, took := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1")
				total.Add(1)
				if wasDown && down.Load() && body == "true" {
					wrongDuringOutage.Add(1)
				}
				if took > 2*time.Second {
					slow.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	downAt.Store(time.Now().UnixNano())
	down.Store(true)
	proxy.Stop()
	time.Sleep(3 * time.Second)
	proxy.Start(t)
	down.Store(false)
	back := time.Now()
	ok := eventually(t, 10*time.Second, func() bool {
		_, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1")
		return body == "true"
	})
	close(stop)
	wg.Wait()
	if !ok {
		t.Fatal("no sign-in within 10s after the database came back")
	}
	t.Logf("%d requests; sign-ins back %s after the database", total.Load(), time.Since(back).Round(10*time.Millisecond))
	if n := wrongDuringOutage.Load(); n > 0 {
		t.Errorf("%d sign-ins accepted while the database was down, later than the account cache's bound", n)
	}
	if n := slow.Load(); n > 0 {
		t.Errorf("%d answers took over 2s", n)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Error("the process did not stay up")
	}
}

// TestRefusalTiming: an unknown name, a wrong password (on a default
// bcrypt account and on a legacy md5 one) and a locked account take the
// same time, measured over many tries taken in turns. The locked account
// is carol on a second serve whose failure limit is one: the first serve
// has no limit, so its wrong passwords stay wrong passwords. The bounds
// are wide: without the dummy bcrypt an unknown name or a lock would be a
// thousand times faster.
func TestRefusalTiming(t *testing.T) {
	w := newWiki(t)
	const secret = "timing test shared secret, long enough"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("httpauth:\n  secret: %q\nauth:\n  max_failures: 0\n", secret))
	srv := startServe(t, cfgPath)
	lockedCfg, lockedLog := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("httpauth:\n  secret: %q\nauth:\n  max_failures: 1\n  failure_window: 10m\n", secret))
	locking := startServe(t, lockedCfg)
	for i := 0; i < 2; i++ {
		checkPassword(t, locking.URL, secret, "carol", "typo") // two failures: locked
	}
	const tries = 25
	kinds := []struct {
		name, url, user string
	}{
		{"wrong password", srv.URL, "alice"},
		{"unknown user", srv.URL, "nobody"},
		{"md5 account", srv.URL, "frank"},
		{"locked account", locking.URL, "carol"},
	}
	took := make([][]time.Duration, len(kinds))
	for i := 0; i < tries; i++ {
		for k, kind := range kinds {
			_, body, d := checkPassword(t, kind.url, secret, kind.user, fmt.Sprintf("wrong-%d", i))
			if body != "false" {
				t.Fatalf("%s: %q", kind.name, body)
			}
			took[k] = append(took[k], d)
		}
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	wrong := median(took[0])
	for k, kind := range kinds {
		d := median(took[k])
		t.Logf("median refusal, %s: %s", kind.name, d)
		if r := float64(d) / float64(wrong); r < 0.5 || r > 2 {
			t.Errorf("%s / wrong password = %.2f: timing tells them apart", kind.name, r)
		}
	}
	if n := len(logLines(t, lockedLog, "reason=rate-limited", "carol")); n != tries {
		t.Errorf("%d refusals of carol logged as rate-limited, want %d: the lock was not measured", n, tries)
	}
}

// TestOutageGraceDuringLoad: the database is cut in the middle of a
// sign-in load, with two serve processes behind the same cut, one with
// auth.outage_grace and one without. With the grace, a password verified
// before the cut keeps signing in (logged at WARN, counted as
// outage-grace) while a password never verified is refused; without it,
// every sign-in is refused past the account cache's bound, as before.
func TestOutageGraceDuringLoad(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	const secret = "grace test shared secret, long enough"
	start := func(grace string) (*serveProcess, string) {
		cfgPath, logPath := writeConfig(t, t.TempDir(), proxy.DSN(t, w.ReaderDSN), []string{"chat.test"},
			fmt.Sprintf("httpauth:\n  secret: %q\nauth:\n  max_failures: 0\n  outage_grace: %s\n", secret, grace))
		port := freePort(t)
		return startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port),
			"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT=500ms", "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=1s"), logPath
	}
	graceOn, logOn := start("10m")
	graceOff, _ := start("0s")
	for _, srv := range []*serveProcess{graceOn, graceOff} {
		if _, body, _ := checkPassword(t, srv.URL, secret, "alice", "alice-pw-1"); body != "true" {
			t.Fatalf("alice before the outage: %q", body)
		}
		// carol's row is read, but her right password is never verified.
		if _, body, _ := checkPassword(t, srv.URL, secret, "carol", "not carol's"); body != "false" {
			t.Fatalf("a wrong password before the outage: %q", body)
		}
	}

	type tally struct{ yes, no atomic.Int64 }
	var (
		down        atomic.Bool
		downAt      atomic.Int64
		onKnown     tally // grace on, alice's verified password
		onUnknown   tally // grace on, carol's password, never verified
		offKnown    tally // grace off, alice's verified password
		stop        = make(chan struct{})
		wg          sync.WaitGroup
		pastBound   = func() bool { return down.Load() && time.Since(time.Unix(0, downAt.Load())) > 1100*time.Millisecond }
		countDuring = func(tl *tally, body string) {
			if body == "true" {
				tl.yes.Add(1)
			} else {
				tl.no.Add(1)
			}
		}
	)
	for _, c := range []struct {
		srv        *serveProcess
		user, pass string
		tl         *tally
		onlyDuring bool // asked only during the outage: never verified before it
	}{
		{graceOn, "alice", "alice-pw-1", &onKnown, false},
		{graceOn, "carol", "carol-pw-2a", &onUnknown, true},
		{graceOff, "alice", "alice-pw-1", &offKnown, false},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				during := pastBound()
				if c.onlyDuring && !during {
					if down.Load() {
						time.Sleep(10 * time.Millisecond) // the outage began: wait for the account cache's bound
					} else if downAt.Load() != 0 {
						return // the outage is over
					} else {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				_, body, _ := checkPassword(t, c.srv.URL, secret, c.user, c.pass)
				if during && pastBound() {
					countDuring(c.tl, body)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	downAt.Store(time.Now().UnixNano())
	down.Store(true)
	proxy.Stop()
	time.Sleep(3 * time.Second)
	proxy.Start(t)
	down.Store(false)
	close(stop)
	wg.Wait()

	t.Logf("during the outage: grace on, verified %d yes %d no; never verified %d yes %d no; grace off %d yes %d no",
		onKnown.yes.Load(), onKnown.no.Load(), onUnknown.yes.Load(), onUnknown.no.Load(), offKnown.yes.Load(), offKnown.no.Load())
	if onKnown.yes.Load() == 0 || onKnown.no.Load() != 0 {
		t.Errorf("grace on: a verified password was refused %d times (accepted %d) during the outage", onKnown.no.Load(), onKnown.yes.Load())
	}
	if onUnknown.yes.Load() != 0 || onUnknown.no.Load() == 0 {
		t.Errorf("grace on: a password never verified was accepted %d times during the outage", onUnknown.yes.Load())
	}
	if offKnown.yes.Load() != 0 || offKnown.no.Load() == 0 {
		t.Errorf("grace off: %d sign-ins accepted during the outage", offKnown.yes.Load())
	}
	if len(logLines(t, logOn, "[WARN]", "accepted", "reason=outage-grace", "user=alice")) == 0 {
		t.Error("no WARN line with reason=outage-grace")
	}
	_, metrics := get(t, graceOn.URL+"/metrics")
	graceSeries := `livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="outage-grace"} `
	if !strings.Contains(metrics, graceSeries) || strings.Contains(metrics, graceSeries+"0\n") {
		t.Errorf("outage-grace not counted:\n%s", grepLines(metrics, "outage-grace"))
	}
	_, metrics = get(t, graceOff.URL+"/metrics")
	if !strings.Contains(metrics, `livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="outage-grace"} 0`) {
		t.Errorf("grace off: the outage-grace series is not 0:\n%s", grepLines(metrics, "outage-grace"))
	}
}

// TestServeWarnsAboutSettings: at start, serve warns about a
// LIVECHAT_AUTH_ variable that names no setting and a secret file every
// user may read; with strict: true it refuses to start instead.
func TestServeWarnsAboutSettings(t *testing.T) {
	w := newWiki(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "token.secret")
	if err := os.WriteFile(secretFile, []byte("a token secret of 32 bytes or more!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath, logPath := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf("token:\n  secret_file: %q\n", secretFile))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_QUERY_TIMOUT=1s")
	for _, want := range []string{
		"LIVECHAT_AUTH_WIKI_QUERY_TIMOUT: names no setting; it is ignored (did you mean LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT?)",
		"token.secret_file: " + secretFile + " is readable by every user (mode 0644)",
	} {
		if len(logLines(t, logPath, "[WARN]", want)) != 1 {
			t.Errorf("no warning %q", want)
		}
	}
	srv.stop(t)
	cmd := exec.Command(binPath, "serve", "--config", cfgPath)
	cmd.Env = []string{"PATH=/usr/bin:/bin", fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_STRICT=true"}
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), "token.secret_file: "+secretFile+" is readable by every user") {
		t.Errorf("strict: %v\n%s", err, out)
	}
	// With log.file set, a variable that names no setting is said on
	// stderr too (ejabberd's log, for extauth), where its starter looks.
	ext := exec.Command(binPath, "extauth", "--config", cfgPath)
	ext.Env = []string{"PATH=/usr/bin:/bin", "LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET=off", "LIVECHAT_AUTH_WIKI_QUERY_TIMOUT=1s"}
	var stderr strings.Builder
	ext.Stderr = &stderr
	if err := ext.Run(); err != nil {
		t.Fatalf("extauth with stdin closed: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "warning: LIVECHAT_AUTH_WIKI_QUERY_TIMOUT: names no setting") {
		t.Errorf("extauth's stderr lacks the unknown variable:\n%s", stderr.String())
	}
}
