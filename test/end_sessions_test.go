package test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// onlineClient is a chat client that stays signed in; closed is closed
// when the server ends its stream.
type onlineClient struct {
	closed <-chan struct{}
}

func stayOnline(t *testing.T, addr, address, password string) *onlineClient {
	t.Helper()
	_, served := signedInSession(t, addr, address, password)
	return &onlineClient{closed: served}
}

func (c *onlineClient) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// endSessionsSettings is the serve configuration that ends sessions
// within bound, as the room-sync account syncbot, on the chat server at
// addr.
func endSessionsSettings(addr string, bound time.Duration) string {
	return fmt.Sprintf("rooms:\n  jid: syncbot@chat.test\n  password: syncbot-pw\n  server: %q\n  tls: none\nend_sessions:\n  enabled: true\n  bound: %s\n", addr, bound)
}

// TestEndSessionsEjabberd and TestEndSessionsProsody: clients are signed
// in; in the wiki one account is suspended, one's password changes and
// one loses its livechat_id. Within the bound those three streams are
// closed and may not sign in again the old way; an unchanged account and
// the administrator itself stay online.
func TestEndSessionsEjabberd(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	cfgPath, logPath := writeConfig(t, dir, w.ReaderDSN, []string{host}, "")
	// Old chat-only accounts beside wiki accounts, as README's migration
	// setup has them: such an account is never ended.
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, Admin: "syncbot@" + host,
		AuthMethod: "[external, internal]", Register: true})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	register(t, "olduser", host, "old-chat-pw", ej.C2SPort)
	old := stayOnline(t, addr, "olduser@"+host, "old-chat-pw")
	t.Cleanup(func() {
		if old.isClosed() {
			t.Error("a chat-only account of the server's own was ended")
		}
	})
	writeConfig(t, dir, w.ReaderDSN, []string{host}, endSessionsSettings(addr, 4*time.Second))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0")
	testEndSessions(t, w, srv, addr, cfgPath, logPath)
}

func TestEndSessionsProsody(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	port := freePort(t)
	p := startProsody(t, host, livechatModuleSettings(fmt.Sprintf("http://127.0.0.1:%d", port), secret)+prosodyAdminSettings("syncbot@"+host))
	addr := fmt.Sprintf("127.0.0.1:%d", p.C2SPort)
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret)+endSessionsSettings(addr, 4*time.Second))
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0")
	testEndSessions(t, w, srv, addr, cfgPath, logPath)
}

func testEndSessions(t *testing.T, w *wiki, srv *serveProcess, addr, cfgPath, logPath string) {
	alice := stayOnline(t, addr, "alice@chat.test", "alice-pw-1")   // to be suspended
	carol := stayOnline(t, addr, "carol@chat.test", "carol-pw-2a")  // unchanged
	dave := stayOnline(t, addr, "dave@chat.test", "dave-pw-2b")     // to lose its livechat_id
	frank := stayOnline(t, addr, "frank@chat.test", "frank-pw-md5") // to get a new password
	// The administrator is online too, as a person might be: never ended.
	admin := stayOnline(t, addr, "syncbot@chat.test", "syncbot-pw")

	checks := func() int {
		_, m := get(t, srv.URL+"/metrics")
		var n int
		fmt.Sscan(strings.TrimPrefix(grepLines(m, `livechat_auth_session_checks_total{result="ok"}`), `livechat_auth_session_checks_total{result="ok"} `), &n)
		return n
	}
	// Two checks ending after the clients signed in: one began after.
	before := checks()
	if !eventually(t, 15*time.Second, func() bool { return checks() >= before+2 }) {
		t.Fatalf("no session check ran: %d\n%s", checks(), strings.Join(logLines(t, logPath, "guard"), "\n"))
	}
	if alice.isClosed() || carol.isClosed() || dave.isClosed() || frank.isClosed() || admin.isClosed() {
		t.Fatal("a session ended before anything changed in the wiki")
	}

	// A new password of the same format (a legacy hash rewritten as bcrypt
	// might be the wiki upgrading it at a web sign-in, and is not taken
	// for a change).
	newHash := md5.Sum([]byte("frank-new-pw"))
	changed := time.Now()
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE login = 'alice'")
	mustExec(t, w.Root, "UPDATE users_users SET livechat_id = NULL WHERE login = 'dave'")
	mustExec(t, w.Root, "UPDATE users_users SET hash = ? WHERE login = 'frank'", hex.EncodeToString(newHash[:]))
	for name, c := range map[string]*onlineClient{"alice (suspended)": alice, "dave (livechat_id cleared)": dave, "frank (password changed)": frank} {
		select {
		case <-c.closed:
		case <-time.After(time.Until(changed.Add(4*time.Second + 2*time.Second))): // the bound, and the time a pass takes
			t.Errorf("%s: still online %s after the change (bound 4s)", name, time.Since(changed).Round(100*time.Millisecond))
		}
	}
	t.Logf("ended within %s", time.Since(changed).Round(100*time.Millisecond))
	// Two more checks, so that an unchanged account had its chance to be
	// wrongly ended.
	after := checks()
	if !eventually(t, 15*time.Second, func() bool { return checks() >= after+2 }) {
		t.Fatal("the session checks stopped")
	}
	if carol.isClosed() {
		t.Error("an unchanged account's session was ended")
	}
	if admin.isClosed() {
		t.Error("the administrator's own session was ended")
	}
	for _, c := range []struct{ user, pass string }{{"alice", "alice-pw-1"}, {"frank", "frank-pw-md5"}, {"dave", "dave-pw-2b"}} {
		if err := goSignIn(context.Background(), addr, c.user+"@chat.test", c.pass); err == nil {
			t.Errorf("%s signed in again the old way", c.user)
		}
	}
	if err := goSignIn(context.Background(), addr, "frank@chat.test", "frank-new-pw"); err != nil {
		t.Errorf("frank's new password: %v", err)
	}
	_, m := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`livechat_auth_sessions_ended_total{reason="suspended"} 1`,
		`livechat_auth_sessions_ended_total{reason="unmigrated"} 1`,
		`livechat_auth_sessions_ended_total{reason="password-changed"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "sessions_ended"))
		}
	}
	if n := len(logLines(t, logPath, "ended the chat sessions of a refused account")); n != 3 {
		t.Errorf("%d sessions logged as ended; want 3", n)
	}

	// The one-shot command: a dry run lists what would end, and ends nothing.
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'u' WHERE login = 'carol'")
	cmd := exec.Command(binPath, "end-sessions", "--dry-run", "--config", cfgPath)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LIVECHAT_AUTH_END_SESSIONS_ENABLED=false"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "carol@chat.test: would end (unvalidated)") {
		t.Errorf("end-sessions --dry-run: %v\n%s", err, out)
	}
	if carol.isClosed() {
		t.Error("a dry run ended a session")
	}
}
