package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat-auth/provider/token"
	"livechat-auth/xmpp/extauth"
)

// TestExtauthRelayToServe: with extauth.daemon_socket, every extauth
// process of ejabberd's pool relays to one serve daemon, so a token works
// once across the whole pool and failures add up across processes; with
// the daemon down, each process decides alone, and relays again once it
// is back.
func TestExtauthRelayToServe(t *testing.T) {
	w := newWiki(t)
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	key := keygen(t, "ES256")
	cfgPath, serveLog := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nextauth:\n  daemon_socket: %q\n", key, socket))
	port := freePort(t)
	listen := fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port)
	srv := startServeOn(t, cfgPath, port, listen)
	// serve listens on TCP before it binds the socket: wait for the socket.
	if !eventually(t, 5*time.Second, func() bool { return socketAnswers(socket) }) {
		t.Fatal("serve's extauth socket does not answer")
	}
	a := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	b := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)

	tok := mintToken(t, cfgPath, "alice")
	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: tok}
	if !a.ask(t, req) {
		t.Fatal("the token was refused")
	}
	if b.ask(t, req) {
		t.Error("the same token signed in again through another process of the pool")
	}
	if n := len(logLines(t, serveLog, "user=alice", "reason=token-replayed")); n != 1 {
		t.Errorf("serve logged %d replays, want 1: the second try was not decided by serve", n)
	}
	// Failures add up across the pool: 3 + 3 typos block the account.
	carol := extauth.Request{Command: "auth", User: "carol", Server: "chat.test", Password: "typo"}
	for i := 0; i < 3; i++ {
		a.ask(t, carol)
		b.ask(t, carol)
	}
	carol.Password = "carol-pw-2a"
	if a.ask(t, carol) {
		t.Error("six failures through two processes did not block the account")
	}
	// serve shows the lock and clears it, without a restart.
	if out, code := operatorRun(t, cfgPath, t.TempDir(), "", "locks"); code != 0 || !strings.Contains(out, "carol: locked after 6 failed sign-ins") {
		t.Errorf("locks: exit %d, want carol listed:\n%s", code, out)
	}
	if out, code := operatorRun(t, cfgPath, t.TempDir(), "", "locks", "clear", "carol@chat.test"); code != 0 {
		t.Errorf("locks clear: exit %d:\n%s", code, out)
	}
	if !b.ask(t, carol) {
		t.Error("the right password was refused after the lock was cleared")
	}

	// The daemon stops: each process decides passwords alone, failing
	// nothing open, and refuses tokens.
	srv.stop(t)
	bob := extauth.Request{Command: "auth", User: "bob", Server: "chat.test", Password: "bob-pw-12"}
	if !a.ask(t, bob) {
		t.Error("no local decision while the daemon is down")
	}
	bob.Password = "wrong"
	if a.ask(t, bob) {
		t.Error("a wrong password accepted while the daemon is down")
	}
	tok2 := mintToken(t, cfgPath, "alice")
	req.Password = tok2
	if a.ask(t, req) {
		t.Error("a token signed in while the daemon is down")
	}
	if !strings.Contains(a.log(t), "reason="+extauth.ReasonTokenUnshared) {
		t.Error("the token refusal was not logged with reason=token-unshared")
	}
	// It comes back: the relays reconnect (after their pause) and the
	// shared record of used tokens is in force again.
	startServeOn(t, cfgPath, port, listen)
	if !eventually(t, 5*time.Second, func() bool { return socketAnswers(socket) }) {
		t.Fatal("serve's extauth socket does not answer after the restart")
	}
	if !eventually(t, 15*time.Second, func() bool { return b.ask(t, req) }) {
		t.Fatal("the unused token is still refused after the daemon came back")
	}
	bob.Password = "bob-pw-12"
	if !eventually(t, 15*time.Second, func() bool {
		a.ask(t, bob)
		return strings.Contains(a.log(t), "daemon reachable again")
	}) {
		t.Fatal("the first relay did not reconnect")
	}
	if a.ask(t, req) {
		t.Error("after the daemon came back, a token signed in twice")
	}
	// The record of used tokens outlived the restart (it is journaled
	// beside the socket): the first token, used before serve stopped and
	// still valid, stays used.
	req.Password = tok
	if b.ask(t, req) {
		t.Error("after serve restarted, a token used before the restart signed in again")
	}
	if n := len(logLines(t, serveLog, "user=alice", "reason=token-replayed")); n != 3 {
		t.Errorf("serve logged %d replays in all, want 3", n)
	}
	a.finish(t)
	b.finish(t)
}

// socketAnswers reports whether something accepts connections on a Unix
// socket.
func socketAnswers(path string) bool {
	c, err := net.Dial("unix", path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestReloadRevokesThroughTheRelay: after SIGHUP replaces the HS256
// secret, tokens under the old one stop working on the ejabberd path too.
func TestReloadRevokesThroughTheRelay(t *testing.T) {
	w := newWiki(t)
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	dir := t.TempDir()
	const oldSecret, newSecret = "the old shared secret, 32 bytes long!", "the new shared secret, 32 bytes long!"
	settings := func(secret string) string {
		return fmt.Sprintf("token:\n  secret: %q\nextauth:\n  daemon_socket: %q\n", secret, socket)
	}
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings(oldSecret))
	srv := startServe(t, cfgPath)
	relay := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	used := mintToken(t, cfgPath, "alice")
	unused := mintToken(t, cfgPath, "alice")
	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: used}
	if !relay.ask(t, req) {
		t.Fatal("token refused before the reload")
	}

	writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings(newSecret))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool {
		return relay.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: mintToken(t, cfgPath, "alice")})
	}) {
		t.Fatal("tokens under the new secret are refused after the reload")
	}
	req.Password = unused
	if relay.ask(t, req) {
		t.Error("a token under the replaced secret still works through the relay")
	}
	relay.finish(t)
}

// TestReloadKeepsUsedTokens: a token used before a SIGHUP cannot be used
// again after it. The reload adds an HS256 secret, so that the test sees
// the new decision maker at work before it replays the token.
func TestReloadKeepsUsedTokens(t *testing.T) {
	w := newWiki(t)
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	dir := t.TempDir()
	key := keygen(t, "EdDSA")
	const secret = "a secret only the reloaded settings have"
	settings := func(extra string) string {
		return fmt.Sprintf("token:\n  signing_key_file: %q\n%sextauth:\n  daemon_socket: %q\n", key, extra, socket)
	}
	cfgPath, logPath := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings(""))
	srv := startServe(t, cfgPath)
	relay := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: mintToken(t, cfgPath, "alice")}
	if !relay.ask(t, req) {
		t.Fatal("token refused")
	}
	writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, settings(fmt.Sprintf("  secret: %q\n", secret)))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil { // a reload builds a new decision maker
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(logLines(t, logPath, "reloaded", "generation=2")) == 1 }) {
		t.Fatal("the reload was not reported")
	}
	hs, err := token.NewMinter(token.MinterConfig{Key: []byte(secret), Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := hs.Mint("sub", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !relay.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: raw}) {
		t.Fatal("a token under the reloaded secret was refused: the new settings do not decide")
	}
	if relay.ask(t, req) {
		t.Error("a token used before the reload signed in again after it")
	}
	relay.finish(t)
	if n := len(logLines(t, logPath, "refused", "reason=token-replayed")); n != 1 {
		t.Errorf("%d refusals as token-replayed, want 1: the replay was refused for another reason", n)
	}
}

// TestRelayRefusesAStrangeDaemon: a daemon run by another user, in a
// folder that user does not own (here: a world-writable one), is not
// trusted; the relay decides locally instead of believing its answers.
func TestRelayRefusesAStrangeDaemon(t *testing.T) {
	need(t, "root", os.Getuid() == 0, "run as root to start a daemon as another user")
	w := newWiki(t)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), filepath.Dir(binPath)} { // let nobody reach the folder and the binary
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil { // anyone may bind a socket here
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "extauth.sock")
	port := freePort(t)
	// A stranger's daemon: serve run as nobody, with no database, so it
	// answers "no" to everything; the relay must not ask it at all.
	stranger := exec.Command(binPath, "serve")
	stranger.Env = []string{"LIVECHAT_AUTH_WIKI_DSN=u:p@tcp(127.0.0.1:1)/none", "LIVECHAT_AUTH_DOMAINS=chat.test",
		"LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET=" + socket, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port)}
	stranger.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stranger.Stderr = os.Stderr
	if err := os.Chmod(binPath, 0o755); err != nil {
		t.Fatal(err)
	}
	startProcess(t, stranger, port, "serve as nobody")
	if !eventually(t, 5*time.Second, func() bool { _, err := os.Stat(socket); return err == nil }) {
		t.Fatal("the stranger's socket did not appear")
	}
	relay := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_WIKI_DSN="+w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test",
		"LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET="+socket)
	if !relay.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}) {
		t.Fatal("the stranger's answer was taken instead of a local decision")
	}
	relay.finish(t)
	if !strings.Contains(relay.log(t), "not trusted") {
		t.Errorf("the relay did not say why it ignored the daemon:\n%s", relay.log(t))
	}
}
