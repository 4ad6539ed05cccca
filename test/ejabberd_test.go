package test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat-auth/test/harness"
)

// ejabberd is a throwaway ejabberd started for one test.
type ejabberd struct {
	Dir      string
	C2SPort  int
	HTTPPort int // XMPP over WebSocket at ws://127.0.0.1:HTTPPort/ws
	Host     string
	LogPath  string
	// ConsolePath is ejabberd's stdout and stderr: what its extauth
	// processes and their daemon log when log.file is not set.
	ConsolePath string
	RunDir      string // RUNTIME_DIRECTORY of its extauth programs
	extauth     string // extauth_program
	stop        func() // stops the server and waits for it; safe to call twice
}

const ejabberdConfig = `loglevel: info
hosts:
  - "%[1]s"
listen:
  -
    port: %[2]d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    max_stanza_size: 262144
    shaper: none
    # The default of 5 drops the SYNs of a burst of clients connecting at
    # once; each dropped one costs its client a one-second retransmit.
    backlog: 1024
    access: all
  -
    port: %[4]d
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /ws: ejabberd_http_ws
%[10]s
%[5]s
%[11]s
extauth_program: "%[3]s"
%[8]s
auth_use_cache: false
s2s_access: none
acl:
  local:
    user_regexp: ""
  muc_admins:
    user:
      - "%[7]s"
  admin:
    user:
      - "%[9]s"
access_rules:
  local:
    allow: local
  register:
    allow: all
  muc_admin:
    allow: muc_admins
  configure:
    allow: admin
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_stream_mgmt: {}
  # Private XML storage (XEP-0049): room sync keeps its record there.
  mod_private: {}
  # Converse.js waits for the block list (XEP-0191) before opening a chat.
  mod_privacy: {}
  mod_blocking: {}
%[6]s`

// startEjabberd starts the stack's ejabberd (Debian 12's 23.01, or 13's
// 24.12) as a plain Erlang node with no distribution and no epmd, on a
// random loopback port, using
// extauthProgram for sign-ins. It is stopped when the test ends.
func startEjabberd(t testing.TB, host, extauthProgram string) *ejabberd {
	t.Helper()
	return startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: extauthProgram})
}

// ejabberdOptions vary the test server's configuration.
type ejabberdOptions struct {
	Host       string
	Extauth    string // extauth_program
	AuthMethod string // default "external"; e.g. "[external, internal]"
	Register   bool   // open in-band registration (mod_register)
	MUCAdmin   string // when set, mod_muc on conference.<host> with this JID as service admin
	Admin      string // when set, service administration (mod_adhoc, mod_configure; XEP-0133) for this JID
	PoolSize   int    // extauth_pool_size (default 1; -1: ejabberd's default, one per core)
	Dir        string // reuse a data folder (its mnesia database) from an earlier start
	// API serves ejabberd's HTTP API (mod_http_api) at
	// http://127.0.0.1:HTTPPort/api, its check_account, set_vcard and
	// get_vcard commands open to loopback clients (with mod_vcard).
	API bool
	// Unregister lets accounts remove themselves (XEP-0077) while
	// registration stays closed.
	Unregister bool
	// BOSH serves XMPP over BOSH (mod_bosh) at http://127.0.0.1:HTTPPort/bosh.
	BOSH bool
}

// startEjabberdWith starts ejabberd with the given options.
func startEjabberdWith(t testing.TB, o ejabberdOptions) *ejabberd {
	t.Helper()
	if !stack.Containers() {
		ebin, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/ejabberd-*/ebin")
		need(t, "ejabberd", have("erl") && len(ebin) > 0, "apt-get install ejabberd")
	}
	stack.Need(t, "erl", "apt-get install ejabberd")
	host, extauthProgram := o.Host, o.Extauth
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.AuthMethod == "" {
		o.AuthMethod = "external"
	}
	if extauthProgram == "" {
		extauthProgram = "/bin/false"
	}
	extraModules := "" // modules and options the test asks for
	mucAdmin, admin := "nobody@"+host, "nobody@"+host
	if o.MUCAdmin != "" {
		mucAdmin = o.MUCAdmin
		extraModules += fmt.Sprintf("  mod_muc:\n    host: \"conference.%s\"\n    access: all\n    access_create: local\n    access_persistent: local\n    access_admin: muc_admin\n", host)
	}
	if o.Admin != "" {
		admin = o.Admin
		extraModules += "  mod_adhoc: {}\n  mod_configure: {}\n"
	}
	switch {
	case o.Register:
		extraModules += "  mod_register:\n    access: register\n    ip_access: all\nregistration_timeout: infinity\n"
	case o.Unregister:
		extraModules += "  mod_register:\n    access: none\n"
	}
	handlers, topLevel := "", ""
	if o.API {
		handlers += "      /api: mod_http_api\n"
		extraModules += "  mod_admin_extra: {}\n  mod_vcard: {}\n"
		topLevel = "api_permissions:\n  \"loopback check_account\":\n    from:\n      - mod_http_api\n    who:\n      ip: 127.0.0.1/8\n    what:\n      - check_account\n      - set_vcard\n      - get_vcard\n"
	}
	if o.BOSH {
		handlers += "      /bosh: mod_bosh\n"
		extraModules += "  mod_bosh: {}\n"
	}
	e := &ejabberd{Dir: o.Dir, C2SPort: freePort(t), HTTPPort: freePort(t), Host: host, extauth: extauthProgram}
	if strings.ContainsAny(extauthProgram, "\"\n") {
		t.Fatalf("extauth program %q cannot go in the config", extauthProgram)
	}
	cfg := filepath.Join(e.Dir, "ejabberd.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, ejabberdConfig, host, e.C2SPort, extauthProgram, e.HTTPPort, "auth_method: "+o.AuthMethod, extraModules, mucAdmin, poolSetting(o.PoolSize), admin, handlers, topLevel), 0o600); err != nil {
		t.Fatal(err)
	}
	e.LogPath = filepath.Join(e.Dir, "log", "ejabberd.log")
	e.RunDir = filepath.Join(e.Dir, "run") // the automatic extauth daemon's folder, kept across restarts
	if err := os.MkdirAll(e.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopDaemons(t, e.RunDir) })
	// The -mnesia dir value must be an Erlang string, quotes included.
	cmd := stack.Command(t, []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + e.Dir,
		"ERL_LIBS=/usr/lib/x86_64-linux-gnu",
		"EJABBERD_CONFIG_PATH=" + cfg,
		"EJABBERD_LOG_PATH=" + e.LogPath,
		"ERL_CRASH_DUMP=" + filepath.Join(e.Dir, "log", "erl_crash.dump"),
		"RUNTIME_DIRECTORY=" + e.RunDir,
	}, "erl", "-noinput", "-noshell", "-mnesia", "dir", `"`+filepath.Join(e.Dir, "db")+`"`, "-s", "ejabberd")
	// A file, not a pipe: the automatic daemon keeps a copy of ejabberd's
	// stderr (it logs there), which would hold a pipe open past ejabberd.
	e.ConsolePath = filepath.Join(e.Dir, "log", "console.log")
	if err := os.MkdirAll(filepath.Dir(e.ConsolePath), 0o700); err != nil {
		t.Fatal(err)
	}
	console, err := os.Create(e.ConsolePath)
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close() // ejabberd has its own copy
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ejabberd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // the exit status is reported through exited
	e.stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // already gone is fine
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			harness.Remove(cmd)
			<-exited
		}
	}
	t.Cleanup(func() {
		e.stop()
		if out, _ := os.ReadFile(e.ConsolePath); t.Failed() {
			t.Logf("ejabberd console:\n%s", out)
		}
	})
	waitPort(t, e.C2SPort, exited, 60*time.Second, e.LogPath)
	return e
}

// poolSetting is the config line for an extauth pool of n processes.
func poolSetting(n int) string {
	if n < 0 {
		return "# extauth_pool_size: ejabberd's default"
	}
	return fmt.Sprintf("extauth_pool_size: %d", max(n, 1))
}

// signIn signs in as user@host with a real XMPP client (python3-slixmpp)
// and reports whether a session started.
func signIn(t testing.TB, jid, password, host string, port int) (bool, string) {
	t.Helper()
	py := "/usr/bin/python3"
	need(t, "python3-slixmpp", exec.Command(py, "-c", "import logging; logging.basicConfig(level=logging.CRITICAL); import slixmpp").Run() == nil, "apt-get install python3-slixmpp")
	cmd := exec.Command(py, "testdata/xmpp_signin.py", jid, host, fmt.Sprint(port), "15")
	cmd.Stdin = strings.NewReader(password)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, strings.TrimSpace(string(out))
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, strings.TrimSpace(string(out))
	}
	t.Fatalf("sign-in client as %s: %v\n%s", jid, err, out)
	return false, ""
}

func TestEjabberdSignIn(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)

	for _, a := range loadAccounts(t) {
		name := a.User + "/" + a.Expect
		t.Run(name, func(t *testing.T) {
			ok, out := signIn(t, a.User+"@"+host, a.Password, "127.0.0.1", ej.C2SPort)
			if want := a.Expect == "accepted"; ok != want {
				t.Fatalf("signed in = %v, want %v (%s)", ok, want, out)
			}
			if a.Expect == "accepted" {
				return
			}
			if lines := logLines(t, logPath, "user="+a.User, "reason="+a.Expect); len(lines) == 0 {
				t.Errorf("no log line with user=%s reason=%s in %s", a.User, a.Expect, logPath)
			}
		})
	}
	t.Run("logs hold no password", func(t *testing.T) {
		data, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range loadAccounts(t) {
			if len(a.Password) >= 6 && bytes.Contains(data, []byte(a.Password)) {
				t.Errorf("the log holds %s's password", a.User)
			}
		}
	})
}
