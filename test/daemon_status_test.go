package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonMetricsAndStatusPage: README's ejabberd setup (the automatic
// daemon) with extauth.listen. ejabberd signs in through the daemon; its
// decisions are counted in the Prometheus metrics scraped from that
// listener, and its status page, opened in headless Chromium with
// status.secret, shows them with the ejabberd extauth processes attached
// (by pid), the recent refusals (escaped) and the settings' generation;
// status.json says the same for scripts, and a reload, taken or refused,
// shows there. Without the secret, metrics and page are refused. The
// screenshot lands in test/artifacts/daemon-status.png.
func TestDaemonMetricsAndStatusPage(t *testing.T) {
	needBrowser(t)

	w := newWiki(t)
	const host = "chat.test"
	const secret = "the daemon page's own secret"
	port := freePort(t)
	extra := fmt.Sprintf("extauth:\n  listen: 127.0.0.1:%d\nstatus:\n  secret: %q\n", port, secret)
	dir := t.TempDir()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{host}, extra)
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, PoolSize: 2})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()
	if err := goSignIn(ctx, addr, "alice@"+host, "alice-pw-1"); err != nil {
		t.Fatal(err)
	}
	if err := goSignIn(ctx, addr, "bob@"+host, "not bob's"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	if err := goSignIn(ctx, addr, "nobody@"+host, "whatever-pw"); err == nil {
		t.Fatal("an unknown name signed in")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	try := func(path, pw string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if pw != "" {
			req.SetBasicAuth("prometheus", pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	fetch := func(path, pw string) (int, string) {
		code, body, err := try(path, pw)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return code, body
	}
	for _, path := range []string{"/metrics", "/", "/status.json"} {
		if code, _ := fetch(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without the secret: %d", path, code)
		}
	}
	code, metrics := fetch("/metrics", secret)
	for _, want := range []string{
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"} 1`,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="bad-password"} 1`,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="unknown-user"} 1`,
		`livechat_auth_config_generation 1`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("the daemon's metrics (%d) lack %s", code, want)
		}
	}

	type snapshot struct {
		Process  string
		Attached []struct {
			What string
			PID  int
		}
		Refusals []struct{ Edge, Cmd, Name, Reason string }
		Settings struct {
			Generation int
			OK         bool
			Error      string
			Changed    []string
		}
	}
	readJSON := func() snapshot {
		t.Helper()
		code, body := fetch("/status.json", secret)
		var s snapshot
		if err := json.Unmarshal([]byte(body), &s); err != nil || code != 200 {
			t.Fatalf("status.json: %d %v\n%s", code, err, body)
		}
		return s
	}
	s := readJSON()
	if s.Process != "automatic extauth daemon" || s.Settings.Generation != 1 {
		t.Errorf("status.json: process %q, generation %d", s.Process, s.Settings.Generation)
	}
	if len(s.Attached) == 0 {
		t.Errorf("no extauth process attached: %+v", s.Attached)
	}
	for _, a := range s.Attached {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", a.PID))
		if !strings.Contains(string(cmdline), "extauth") {
			t.Errorf("attached pid %d is no extauth process: %q", a.PID, cmdline)
		}
	}
	refused := map[string]string{}
	for _, r := range s.Refusals {
		refused[r.Name] = r.Reason
	}
	if refused["bob"] != "bad-password" || refused["nobody"] != "unknown-user" || refused["alice"] != "" {
		t.Errorf("refusals: %+v", s.Refusals)
	}

	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs("artifacts/daemon-status.png")
	out, err := exec.Command("node", "browser/status.mjs", base+"/", secret, shot, "").CombinedOutput()
	if err != nil {
		t.Fatalf("browser: %v\n%s", err, out)
	}
	var seen struct {
		Status int
		Before struct {
			Decisions []struct {
				Edge, Result string
				Last5        int
			}
			Process  string
			Attached []int
			Refusals []struct{ Edge, Cmd, Name, Reason string }
			Settings string
		}
	}
	if err := json.Unmarshal(out[strings.LastIndex(string(out[:len(out)-1]), "\n")+1:], &seen); err != nil {
		t.Fatalf("browser output: %v\n%s", err, out)
	}
	counts := map[string]int{}
	for _, d := range seen.Before.Decisions {
		if d.Edge == "extauth" {
			counts[d.Result] = d.Last5
		}
	}
	if seen.Status != 200 || counts["accepted"] != 1 || counts["bad-password"] != 1 || counts["unknown-user"] != 1 {
		t.Errorf("decisions on the page (%d): %+v", seen.Status, seen.Before.Decisions)
	}
	if seen.Before.Process != "automatic extauth daemon" || len(seen.Before.Attached) != len(s.Attached) ||
		!strings.Contains(seen.Before.Settings, "generation 1") {
		t.Errorf("the page: process %q, attached %v, settings %q", seen.Before.Process, seen.Before.Attached, seen.Before.Settings)
	}
	if len(seen.Before.Refusals) != 2 || seen.Before.Refusals[0].Edge != "extauth" || seen.Before.Refusals[0].Cmd != "auth" {
		t.Errorf("refusals on the page: %+v", seen.Before.Refusals)
	}

	// A reload taken, then one refused, as the page's settings say.
	pids := daemonPIDs(t, ej.RunDir)
	if len(pids) != 1 {
		t.Fatalf("daemons: %v", pids)
	}
	writeConfig(t, dir, w.ReaderDSN, []string{host}, extra+"auth:\n  max_failures: 9\n")
	if err := syscall.Kill(pids[0], syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { s = readJSON(); return s.Settings.Generation == 2 }) {
		t.Fatalf("no generation 2 after a good reload: %+v", s.Settings)
	}
	if !s.Settings.OK || len(s.Settings.Changed) != 1 || s.Settings.Changed[0] != "auth" {
		t.Errorf("the good reload: %+v", s.Settings)
	}
	if err := os.WriteFile(cfgPath, []byte("domains: [\"NOT A DOMAIN\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pids[0], syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { s = readJSON(); return !s.Settings.OK }) {
		t.Fatalf("the broken reload is not shown: %+v", s.Settings)
	}
	if s.Settings.Generation != 2 || !strings.Contains(s.Settings.Error, "domains") {
		t.Errorf("the refused reload: %+v", s.Settings)
	}
	if err := goSignIn(ctx, addr, "alice@"+host, "alice-pw-1"); err != nil {
		t.Errorf("alice after a refused reload: %v", err)
	}

	// A new status.secret (rotated after a leak, say) is no reload the
	// running daemon can take: it stops, the next sign-in starts one with
	// the new secret, and the old one no longer opens anything.
	const rotated = "the daemon page's rotated secret"
	writeConfig(t, dir, w.ReaderDSN, []string{host}, strings.Replace(extra, secret, rotated, 1)+"auth:\n  max_failures: 9\n")
	if err := syscall.Kill(pids[0], syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 10*time.Second, func() bool {
		_ = goSignIn(ctx, addr, "alice@"+host, "alice-pw-1") // starts the new daemon
		code, _, _ := try("/status.json", rotated)           // refused while none listens
		return code == 200
	}) {
		t.Fatal("the rotated secret does not open the page")
	}
	if code, _ := fetch("/metrics", secret); code != http.StatusUnauthorized {
		t.Errorf("the old secret after the rotation: %d", code)
	}
	if now := daemonPIDs(t, ej.RunDir); len(now) != 1 || now[0] == pids[0] {
		t.Errorf("daemons after the rotation: %v (before: %d)", now, pids[0])
	}
}

// TestAloneMetrics: with extauth.daemon_socket: off and ejabberd's pool
// of one extauth process, as "off" wants, that process serves its
// metrics and status page on extauth.listen.
func TestAloneMetrics(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	port := freePort(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("extauth:\n  daemon_socket: \"off\"\n  listen: 127.0.0.1:%d\n", port))
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, PoolSize: 1})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()
	if err := goSignIn(ctx, addr, "alice@"+host, "alice-pw-1"); err != nil {
		t.Fatal(err)
	}
	if err := goSignIn(ctx, addr, "bob@"+host, "not bob's"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	code, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"} 1`,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="bad-password"} 1`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("the lone process's metrics (%d) lack %s", code, want)
		}
	}
	_, body := get(t, base+"/status.json")
	var s struct {
		Process  string
		Refusals []struct{ Name, Reason string }
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil || !strings.Contains(s.Process, "deciding alone") || len(s.Refusals) != 1 || s.Refusals[0].Name != "bob" {
		t.Errorf("status.json: %v %+v", err, s)
	}
}
