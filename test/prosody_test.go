package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat-auth/test/harness"
)

// prosody is a throwaway Prosody (the stack's: Debian 12's 0.12, or 13's
// 13.0) started for one test.
type prosody struct {
	Dir     string
	C2SPort int
	Host    string
	Config  string
	LogPath string
}

const prosodyConfig = `run_as_root = true
data_path = %[1]q
pidfile = %[1]q .. "/prosody.pid"
log = { { levels = { min = "debug" }, to = "file", filename = %[2]q } }
plugin_paths = { %[3]q }
modules_enabled = { "disco", "roster", "saslauth", "ping", "posix", "private" }
modules_disabled = { "s2s", "tls", "admin_shell" }
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { %[4]d }
c2s_direct_tls_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
storage = "internal"
%[6]s
VirtualHost %[5]q
%[7]s`

// startProsody starts Debian's Prosody on a random loopback port with the
// given authentication settings (Lua lines); it is stopped when the test
// ends. register, when given, creates internal accounts (user, password)
// before the start.
func startProsody(t testing.TB, host, authSettings string, register ...[2]string) *prosody {
	t.Helper()
	return startProsodyWith(t, host, authSettings, "", register...)
}

// startProsodyWith is startProsody with extra configuration after the
// VirtualHost, such as a MUC Component.
func startProsodyWith(t testing.TB, host, authSettings, components string, register ...[2]string) *prosody {
	t.Helper()
	stack.Need(t, "prosody", "apt-get install prosody")
	stack.Need(t, "prosodyctl", "apt-get install prosody")
	p := &prosody{Dir: t.TempDir(), C2SPort: freePort(t), Host: host}
	modules, err := filepath.Abs("../prosody")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(p.Dir, "data")
	for _, d := range []string{data, filepath.Join(p.Dir, "certs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	p.LogPath = filepath.Join(p.Dir, "prosody.log")
	p.Config = filepath.Join(p.Dir, "prosody.cfg.lua")
	body := fmt.Sprintf(prosodyConfig, data, p.LogPath, modules, p.C2SPort, host, authSettings, components)
	if err := os.WriteFile(p.Config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// Accounts are made as Prosody's own (internal_hashed), as they were
	// before the wiki took over.
	registerConfig := filepath.Join(p.Dir, "register.cfg.lua")
	if err := os.WriteFile(registerConfig, []byte(fmt.Sprintf(prosodyConfig, data, p.LogPath, modules, p.C2SPort, host, `authentication = "internal_hashed"`, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range register {
		if out, err := stack.Command(t, nil, "prosodyctl", "--config", registerConfig, "register", r[0], host, r[1]).CombinedOutput(); err != nil {
			t.Fatalf("prosodyctl register %s: %v\n%s", r[0], err, out)
		}
	}
	cmd := stack.Command(t, nil, "prosody", "-F", "--config", p.Config)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prosody: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reported through exited
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // gone already is fine
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			harness.Remove(cmd)
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(p.LogPath)
			t.Logf("prosody console:\n%s\nprosody log (tail):\n%s", console.String(), tail(string(log), 3000))
		}
	})
	waitPort(t, p.C2SPort, exited, 20*time.Second, p.LogPath)
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// prosodyAdminSettings makes admin a server administrator with the
// service administration commands (XEP-0133, mod_admin_adhoc).
func prosodyAdminSettings(admin string) string {
	return fmt.Sprintf("admins = { %q }\nmodules_enabled = { \"disco\", \"roster\", \"saslauth\", \"ping\", \"posix\", \"private\", \"adhoc\", \"admin_adhoc\" }\n", admin)
}

// livechatModuleSettings is the Prosody configuration of our module.
func livechatModuleSettings(serveURL, secret string) string {
	return fmt.Sprintf("authentication = \"livechat\"\nlivechat_auth_url = %q\nlivechat_auth_secret = %q\nlivechat_auth_timeout = 3\n",
		serveURL+"/auth", secret)
}

func TestProsodySignIn(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	key := keygen(t, "RS256")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host},
		fmt.Sprintf("token:\n  signing_key_file: %q\nhttpauth:\n  secret: %q\n", key, secret))
	srv := startServe(t, cfgPath)
	p := startProsody(t, host, livechatModuleSettings(srv.URL, secret))

	for _, a := range loadAccounts(t) {
		t.Run(a.User+"/"+a.Expect, func(t *testing.T) {
			ok, out := signIn(t, a.User+"@"+host, a.Password, "127.0.0.1", p.C2SPort)
			if want := a.Expect == "accepted"; ok != want {
				t.Fatalf("signed in = %v, want %v (%s)", ok, want, out)
			}
			if a.Expect != "accepted" && len(logLines(t, logPath, "reason="+a.Expect)) == 0 {
				t.Errorf("no log line with reason=%s", a.Expect)
			}
		})
	}
	t.Run("token", func(t *testing.T) {
		tok := mintToken(t, cfgPath, "quinn")
		if ok, out := signIn(t, "quinn@"+host, tok, "127.0.0.1", p.C2SPort); !ok {
			t.Fatalf("token sign-in refused: %s", out)
		}
		if ok, _ := signIn(t, "quinn@"+host, tok, "127.0.0.1", p.C2SPort); ok {
			t.Fatal("a token signed in twice")
		}
	})
	t.Run("no password in Prosody's debug log", func(t *testing.T) {
		data, err := os.ReadFile(p.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range loadAccounts(t) {
			if len(a.Password) >= 6 && bytes.Contains(data, []byte(a.Password)) {
				t.Errorf("Prosody's log holds %s's password", a.User)
			}
		}
	})
}

// TestProsodySidecarRestart: while livechat-auth is stopped, sign-ins fail
// closed (and fast); once it is back, they work again with no Prosody
// restart.
func TestProsodySidecarRestart(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret))
	port := freePort(t)
	listen := fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProsody(t, host, livechatModuleSettings(url, secret))

	srv := startServeOn(t, cfgPath, port, listen)
	if ok, out := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", p.C2SPort); !ok {
		t.Fatalf("before the restart: %s", out)
	}
	srv.stop(t)
	start := time.Now()
	if ok, _ := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", p.C2SPort); ok {
		t.Fatal("signed in while livechat-auth is down")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refusal took %s", d)
	}
	startServeOn(t, cfgPath, port, listen)
	if ok, out := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", p.C2SPort); !ok {
		t.Fatalf("after the restart: %s", out)
	}
	if lines := logLines(t, p.LogPath, "livechat-auth unreachable"); len(lines) == 0 {
		t.Error("Prosody logged no line about livechat-auth being unreachable")
	}
	if strings.Contains(tail(readFile(t, p.LogPath), 1<<20), "alice-pw-1") {
		t.Error("Prosody's log holds the password")
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestProsodyLogsDatabaseDown: with the wiki database down, a sign-in
// through Prosody is refused (its SASL can say nothing else), and
// Prosody's log says why: the HTTP contract answered a server fault with
// its reason, not a wrong password.
func TestProsodyLogsDatabaseDown(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	cfgPath, _ := writeConfig(t, t.TempDir(), proxy.DSN(t, w.ReaderDSN), []string{host}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0", "LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT=500ms")
	p := startProsody(t, host, livechatModuleSettings(srv.URL, secret))
	if ok, out := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", p.C2SPort); !ok {
		t.Fatalf("alice before the outage: %s", out)
	}
	proxy.Stop()
	if ok, _ := signIn(t, "alice@"+host, "alice-pw-1", "127.0.0.1", p.C2SPort); ok {
		t.Fatal("signed in with the wiki database down")
	}
	if !eventually(t, 5*time.Second, func() bool {
		log, _ := os.ReadFile(p.LogPath)
		return strings.Contains(string(log), "check_password for alice@chat.test: the wiki database is unavailable (livechat-auth: db-unavailable); refusing")
	}) {
		log, _ := os.ReadFile(p.LogPath)
		t.Errorf("Prosody's log does not say the database is down:\n%s", tail(string(log), 2000))
	}
}
