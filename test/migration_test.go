package test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"livechat-auth/provider/session"
)

// migrationKey is the session key of the migration tests.
var migrationKey = []byte("the wiki signs its migration calls with this")

// postMigration sends a signed call to serve's migration API and returns
// the status and the decoded answer.
func postMigration(t testing.TB, serveURL, action string, fields map[string]string) (int, map[string]string) {
	t.Helper()
	fields["action"] = action
	if _, ok := fields["nonce"]; !ok {
		fields["nonce"] = randomName("n")
	}
	body, _ := json.Marshal(fields) // strings always marshal
	return postSigned(t, serveURL+"/v1/migration/"+action, body)
}

func postSigned(t testing.TB, url string, body []byte) (int, map[string]string) {
	t.Helper()
	return postSignedAt(t, url, body, time.Now())
}

// postSignedAt is postSigned with the request signed at now: two calls with
// one now send the very same request, a replay.
func postSignedAt(t testing.TB, url string, body []byte, now time.Time) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(session.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(session.HeaderSignature, session.Sign(migrationKey, now, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("%s: answer %q is not a JSON object", url, raw)
	}
	answer := map[string]string{} // the answer's strings
	for k, v := range fields {
		if s, ok := v.(string); ok {
			answer[k] = s
		}
	}
	return resp.StatusCode, answer
}

// migrationSetup is a chat server in the middle of a migration: the old
// chat accounts rupe (rupert's, who also has an unmigrated wiki account),
// alice (a stranger of the wiki's alice) and newbie, the wiki with an
// unmigrated newbie too, and serve with the migration API on.
type migrationSetup struct {
	w       *wiki
	srv     *serveProcess
	addr    string // the chat server's client listener
	cfgPath string
	logPath string
}

func setUpEjabberdMigration(t *testing.T) *migrationSetup {
	t.Helper()
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	old := startEjabberdWith(t, ejabberdOptions{Host: host, AuthMethod: "internal", Register: true, Dir: dir})
	register(t, "rupe", host, "rupes-chat-pw", old.C2SPort)
	register(t, "alice", host, "a-strangers-chat-pw", old.C2SPort)
	register(t, "newbie", host, "newbies-chat-pw", old.C2SPort)
	old.stop()
	addNewbie(t, w)

	cfgDir := t.TempDir()
	cfgPath, logPath := writeConfig(t, cfgDir, w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, AuthMethod: "[external, internal]",
		Extauth: binPath + " extauth --config " + cfgPath, Dir: dir, API: true, Unregister: true})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	writeConfig(t, cfgDir, w.ReaderDSN, []string{host}, fmt.Sprintf(
		"extauth:\n  daemon_socket: %q\ntoken:\n  signing_key_file: %q\nsession:\n  key: %q\nrooms:\n  server: %q\n  tls: none\nmigration:\n  enabled: true\n  ejabberd_api_url: \"http://127.0.0.1:%d/api\"\n",
		filepath.Join(cfgDir, "relay.sock"), keygen(t, "ES256"), migrationKey, addr, ej.HTTPPort))
	port := freePort(t)
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0")
	return &migrationSetup{w: w, srv: srv, addr: addr, cfgPath: cfgPath, logPath: logPath}
}

// addNewbie adds an unmigrated wiki account newbie, with rupert's password.
func addNewbie(t *testing.T, w *wiki) {
	t.Helper()
	mustExec(t, w.Root, "INSERT INTO users_users (login, email, hash, livechat_id, pass_confirm, registrationDate, created, password) SELECT 'newbie', 'newbie@example.org', hash, NULL, pass_confirm, registrationDate, created, '' FROM users_users WHERE login = 'rupert'")
}

// setUpProsodyMigration is setUpEjabberdMigration's chat server on
// Prosody: mod_auth_livechat with the old accounts in internal_hashed,
// account removal (mod_register, registration closed), and syncbot as the
// administrator that tells which names are accounts (user-stats).
func setUpProsodyMigration(t *testing.T) *migrationSetup {
	t.Helper()
	w := newWiki(t)
	addNewbie(t, w)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	port := freePort(t)
	settings := livechatModuleSettings(fmt.Sprintf("http://127.0.0.1:%d", port), secret) + "livechat_auth_fallback = \"internal_hashed\"\n" +
		"admins = { \"syncbot@chat.test\" }\nallow_registration = false\n" +
		"modules_enabled = { \"disco\", \"roster\", \"saslauth\", \"ping\", \"posix\", \"private\", \"adhoc\", \"admin_adhoc\", \"register\" }\n"
	p := startProsody(t, host, settings, [2]string{"rupe", "rupes-chat-pw"}, [2]string{"alice", "a-strangers-chat-pw"}, [2]string{"newbie", "newbies-chat-pw"})
	addr := fmt.Sprintf("127.0.0.1:%d", p.C2SPort)
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf(
		"httpauth:\n  secret: %q\ntoken:\n  signing_key_file: %q\nsession:\n  key: %q\nrooms:\n  jid: syncbot@chat.test\n  password: syncbot-pw\n  server: %q\n  tls: none\nmigration:\n  enabled: true\n",
		secret, keygen(t, "ES256"), migrationKey, addr))
	srv := startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0")
	return &migrationSetup{w: w, srv: srv, addr: addr, cfgPath: cfgPath, logPath: logPath}
}

// TestMigrationAPIEjabberd: rupert proves the old chat account rupe's
// password to ejabberd itself, the wiki stores rupe, and the old account
// is removed: rupert's wiki password signs in as rupe@chat.test, the old
// chat password does not. Wrong passwords, another wiki user's name and
// early or repeated calls get their refusals.
func TestMigrationAPIEjabberd(t *testing.T) { testMigrationAPI(t, setUpEjabberdMigration(t)) }

// TestMigrationAPIProsody: the same on Prosody, whose old accounts
// mod_auth_livechat tries in internal_hashed (livechat_auth_fallback).
func TestMigrationAPIProsody(t *testing.T) { testMigrationAPI(t, setUpProsodyMigration(t)) }

func testMigrationAPI(t *testing.T, m *migrationSetup) {
	ctx := context.Background()
	url := m.srv.URL
	steps := []struct {
		name, action string
		fields       map[string]string
		status       int
		code         string // the answer's error, or livechat_id / old_account for a 200
	}{
		{"wrong chat password", "claim", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "not-it"}, 403, "bad-chat-password"},
		{"another wiki user's id", "claim", map[string]string{"login": "rupert", "chat_name": "alice", "chat_password": "a-strangers-chat-pw"}, 409, "chat-name-taken"},
		{"another wiki user's id, other case", "claim", map[string]string{"login": "rupert", "chat_name": "ALICE", "chat_password": "a-strangers-chat-pw"}, 409, "chat-name-taken"},
		{"not a chat name", "claim", map[string]string{"login": "rupert", "chat_name": "ru pe", "chat_password": "x"}, 400, "bad-chat-name"},
		{"another domain", "claim", map[string]string{"login": "rupert", "chat_name": "rupe@elsewhere.example", "chat_password": "rupes-chat-pw"}, 400, "bad-chat-name"},
		{"no such wiki account", "claim", map[string]string{"login": "nobody", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 404, "unknown-user"},
		{"a migrated wiki account", "claim", map[string]string{"login": "bob", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 409, "already-migrated"},
		{"a suspended wiki account", "claim", map[string]string{"login": "nina", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 409, "already-migrated"},
		{"complete before the wiki stored the id", "complete", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 409, "not-stored"},
		{"a token for the chat password", "claim", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJydXBlIn0.c2lnbmF0dXJl"}, 409, "wiki-token"},
		// Another wiki user guessing rupe's password is stopped by its own
		// budget (auth.max_failures 5: the 7th is refused untried), and
		// cannot list the wiki's chat names past it either; rupe's owner
		// still proves the name.
		{"newbie guesses 1", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess1"}, 403, "bad-chat-password"},
		{"newbie guesses 2", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess2"}, 403, "bad-chat-password"},
		{"newbie guesses 3", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess3"}, 403, "bad-chat-password"},
		{"newbie guesses 4", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess4"}, 403, "bad-chat-password"},
		{"newbie guesses 5", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess5"}, 403, "bad-chat-password"},
		{"newbie guesses 6", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "guess6"}, 403, "bad-chat-password"},
		{"newbie guesses 7", "claim", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 429, "rate-limited"},
		{"newbie asks for a taken name past its budget", "claim", map[string]string{"login": "newbie", "chat_name": "alice", "chat_password": "x"}, 429, "rate-limited"},
		{"claim", "claim", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}, 200, "rupe"},
	}
	// A password the server will not take (a control character: Prosody's
	// SASLprep refuses it as malformed) is a wrong password: asking about
	// free names with it is counted like any other claim.
	mustExec(t, m.w.Root, "INSERT INTO users_users (login, email, hash, livechat_id, pass_confirm, registrationDate, created, password) SELECT 'prober', 'prober@example.org', hash, NULL, pass_confirm, registrationDate, created, '' FROM users_users WHERE login = 'rupert'")
	for i := range 8 {
		status, answer := postMigration(t, url, "claim", map[string]string{"login": "prober", "chat_name": fmt.Sprintf("free%d", i), "chat_password": "x\u0007"})
		if want := 403; i >= 6 {
			if status != 429 {
				t.Errorf("prober's claim %d after its budget: %d %v, want 429", i, status, answer)
			}
		} else if status != want || answer["error"] != "bad-chat-password" {
			t.Errorf("prober's claim %d with a control character: %d %v, want 403 bad-chat-password", i, status, answer)
		}
	}
	for _, s := range steps {
		status, answer := postMigration(t, url, s.action, s.fields)
		got := answer["error"]
		if status == 200 {
			got = answer["livechat_id"]
		}
		if status != s.status || got != s.code {
			t.Errorf("%s: %d %v, want %d %s", s.name, status, answer, s.status, s.code)
		}
	}
	// The old account still signs in: nothing is removed before the wiki
	// stores the id.
	if err := goSignIn(ctx, m.addr, "rupe@chat.test", "rupes-chat-pw"); err != nil {
		t.Fatalf("the old account stopped signing in before the wiki stored its name: %v", err)
	}
	mustExec(t, m.w.Root, "UPDATE users_users SET livechat_id = 'rupe' WHERE login = 'rupert'")
	// Until complete, the name answers to both passwords: the old
	// account's own sign-ins (each asked of us first, and refused as the
	// password the claim proved) do not lock the wiki password out.
	for i := 0; i < 8; i++ {
		if err := goSignIn(ctx, m.addr, "rupe@chat.test", "rupes-chat-pw"); err != nil {
			t.Fatalf("the old account's sign-in %d after the wiki stored its name: %v", i, err)
		}
	}
	var err error
	if !eventually(t, 5*time.Second, func() bool { err = goSignIn(ctx, m.addr, "rupe@chat.test", "rupert-pw"); return err == nil }) {
		t.Fatalf("the wiki password after the old account's own sign-ins: %v\n%s", err, strings.Join(logLines(t, m.logPath, "rupe"), "\n"))
	}
	if len(logLines(t, m.logPath, "reason=old-account")) == 0 {
		t.Error("the old account's sign-ins are not logged as old-account")
	}
	// A token the wiki's alice mints is no password of the chat server's
	// own alice (a stranger's account): complete refuses it untried, the
	// stranger's account stays, and the token is not used up.
	status, session := requestSession(t, url, migrationKey, `{"login":"alice"}`)
	tok, _ := session["token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("session for alice: %d %v", status, session)
	}
	if status, answer := postMigration(t, url, "complete", map[string]string{"login": "alice", "chat_name": "alice", "chat_password": tok}); status != 409 || answer["error"] != "wiki-token" {
		t.Errorf("complete with a token: %d %v", status, answer)
	}
	if err := goSignIn(ctx, m.addr, "alice@chat.test", "a-strangers-chat-pw"); err != nil {
		t.Errorf("the stranger's own alice no longer signs in after a complete with a token: %v", err)
	}
	// The same in the forms Prosody's SASLprep turns back into the token
	// or the wiki password (a soft hyphen, a full-width letter).
	for _, c := range []struct{ password, want string }{
		{tok[:5] + "\u00ad" + tok[5:], "wiki-token"},
		{"alice\u00ad-pw-1", "wiki-password"},
		{"\uff41lice-pw-1", "wiki-password"},
	} {
		if status, answer := postMigration(t, url, "complete", map[string]string{"login": "alice", "chat_name": "alice", "chat_password": c.password}); status != 409 || answer["error"] != c.want {
			t.Errorf("complete with %q: %d %v, want 409 %s", c.password, status, answer, c.want)
		}
	}
	if err := goSignIn(ctx, m.addr, "alice@chat.test", "a-strangers-chat-pw"); err != nil {
		t.Errorf("the stranger's own alice no longer signs in after a complete with a token or the wiki password: %v", err)
	}
	if err := goSignIn(ctx, m.addr, "alice@chat.test", tok); err != nil {
		t.Errorf("the token no longer signs in after complete refused it: %v", err)
	}
	// The wiki password signs in through the wiki: "removing" with it
	// would only have the server delete the migrated user's roster.
	if !eventually(t, 5*time.Second, func() bool {
		status, answer := postMigration(t, url, "complete", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupert-pw"})
		return status == 409 && answer["error"] == "wiki-password"
	}) {
		t.Error("complete with the wiki password was not refused as wiki-password")
	}
	if status, answer := postMigration(t, url, "complete", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}); status != 200 || answer["old_account"] != "removed" {
		t.Fatalf("complete: %d %v", status, answer)
	}
	// ejabberd's extauth reuses an account row for wiki.account_cache (2s).
	if !eventually(t, 5*time.Second, func() bool { err = goSignIn(ctx, m.addr, "rupe@chat.test", "rupert-pw"); return err == nil }) {
		t.Errorf("the wiki password does not sign in as the old JID: %v", err)
	}
	if err := goSignIn(ctx, m.addr, "rupe@chat.test", "rupes-chat-pw"); err == nil {
		t.Error("the old chat password still signs in after complete")
	}
	// Idempotent: the page may call again (a reload, a retry).
	if status, answer := postMigration(t, url, "complete", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}); status != 200 || answer["old_account"] != "gone" {
		t.Errorf("complete again: %d %v", status, answer)
	}
	if status, answer := postMigration(t, url, "claim", map[string]string{"login": "rupert", "chat_name": "rupe", "chat_password": "rupes-chat-pw"}); status != 409 || answer["error"] != "already-migrated" {
		t.Errorf("claim after the migration: %d %v", status, answer)
	}
	// Another wiki user cannot complete on rupert's id.
	if status, answer := postMigration(t, url, "complete", map[string]string{"login": "newbie", "chat_name": "rupe", "chat_password": "rupert-pw"}); status != 409 || answer["error"] != "not-stored" {
		t.Errorf("complete for another account: %d %v", status, answer)
	}

	// newbie has no chat account of its own, but ejabberd has one named
	// newbie: the suggestion is another name, free on both sides.
	status, answer := postMigration(t, url, "suggest", map[string]string{"login": "newbie"})
	if status != 200 || answer["livechat_id"] == "" || strings.EqualFold(answer["livechat_id"], "newbie") || answer["jid"] != answer["livechat_id"]+"@chat.test" {
		t.Fatalf("suggest: %d %v\n%s", status, answer, strings.Join(logLines(t, m.logPath, "migration"), "\n"))
	}
	t.Logf("suggested %s", answer["livechat_id"])

	// A signed call is good once.
	// The second send is the same bytes and headers: signed again in a
	// later second it would be a new request.
	body := []byte(`{"action":"suggest","login":"newbie","nonce":"once"}`)
	signedAt := time.Now()
	if status, _ := postSignedAt(t, url+"/v1/migration/suggest", body, signedAt); status != 200 {
		t.Fatalf("first use: %d", status)
	}
	if status, answer := postSignedAt(t, url+"/v1/migration/suggest", body, signedAt); status != 401 || answer["error"] != "replayed" {
		t.Errorf("replayed: %d %v", status, answer)
	}
	// A body signed for one call is no good at another.
	if status, answer := postSigned(t, url+"/v1/migration/claim", []byte(`{"action":"suggest","login":"newbie","nonce":"other"}`)); status != 400 {
		t.Errorf("suggest body at claim: %d %v", status, answer)
	}
	// doctor asks the chat server as the API does.
	if out, _ := runDoctor(t, binPath, "--config", m.cfgPath); !strings.Contains(out, "migration: the chat server tells which names are accounts") {
		t.Errorf("doctor:\n%s", out)
	}
	// No chat password in the logs, which hold the calls.
	if len(logLines(t, m.logPath, "migration claim", "livechat_id=rupe")) == 0 || len(logLines(t, m.logPath, "reason=bad-chat-password")) == 0 {
		t.Error("the log does not show the migration calls")
	}
	for _, secret := range []string{"rupes-chat-pw", "a-strangers-chat-pw"} {
		if lines := logLines(t, m.logPath, secret); len(lines) > 0 {
			t.Errorf("a chat password is in the log: %s", lines[0])
		}
	}
}

// startMigrationPage runs examples/tiki/tiki-livechat_migration.php under
// php -S as the wiki would, logged in as login ("": nobody), writing with
// the wiki's own database rights, and returns its URL.
func startMigrationPage(t *testing.T, w *wiki, serveURL, login string) string {
	t.Helper()
	need(t, "php", have("php"), "apt-get install php-cli php-mysql")
	if out, _ := exec.Command("php", "-m").Output(); !strings.Contains(string(out), "pdo_mysql") {
		need(t, "php-mysql", false, "apt-get install php-mysql")
	}
	cfg, err := mysql.ParseDSN(rootDSN())
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	p := freePort(t)
	php := exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", p), "-t", mustAbs(t, "../examples/tiki"))
	php.Env = append(os.Environ(), "LIVECHAT_AUTH_URL="+serveURL, "LIVECHAT_AUTH_SESSION_KEY="+string(migrationKey),
		"LIVECHAT_DEMO_USER="+login, fmt.Sprintf("LIVECHAT_DEMO_DSN=mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4", host, port, w.Name),
		"LIVECHAT_DEMO_DB_USER="+cfg.User, "LIVECHAT_DEMO_DB_PASSWORD="+cfg.Passwd)
	startProcess(t, php, p, "php -S")
	return fmt.Sprintf("http://127.0.0.1:%d/tiki-livechat_migration.php", p)
}

// TestMigrationDoctorCatchesEjabberdWithoutAPI: on ejabberd, asking as
// an administrator cannot tell which names are accounts (mod_configure's
// user-stats answers for any name); doctor says to set
// migration.ejabberd_api_url.
func TestMigrationDoctorCatchesEjabberdWithoutAPI(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, Admin: "syncbot@" + host})
	writeConfig(t, dir, w.ReaderDSN, []string{host}, fmt.Sprintf(
		"token:\n  signing_key_file: %q\nsession:\n  key: %q\nrooms:\n  jid: syncbot@chat.test\n  password: syncbot-pw\n  server: \"127.0.0.1:%d\"\n  tls: none\nmigration:\n  enabled: true\n",
		keygen(t, "ES256"), migrationKey, ej.C2SPort))
	out, code := runDoctor(t, binPath, "--config", cfgPath)
	if code != 2 || !strings.Contains(out, "set migration.ejabberd_api_url") {
		t.Errorf("doctor (exit %d):\n%s", code, out)
	}
}

// TestMigrationPageEjabberd: the migration page in headless Chromium, on
// ejabberd in [external, internal] mode. rupert, with an unmigrated wiki
// account, keeps his old chat account rupe by proving its password: the
// page stores rupe, ejabberd removes the old account, and afterwards the
// wiki password signs in as rupe@chat.test while the old chat password
// does not. A wrong chat password and another wiki user's id are refused
// with a clear message; newbie gets a fresh name; a logged-out visitor is
// told to register first; a form without its token changes nothing.
func TestMigrationPageEjabberd(t *testing.T) {
	needBrowser(t)
	m := setUpEjabberdMigration(t)
	testMigrationPage(t, m.w, m.srv.URL, m.addr, "rupe", "rupes-chat-pw", "newbie2")
}

// TestMigrationPageProsody: the same page on Prosody.
func TestMigrationPageProsody(t *testing.T) {
	need(t, "chromium", have("/usr/bin/chromium"), "apt-get install chromium")
	need(t, "node", have("node"), "install Node.js")
	m := setUpProsodyMigration(t)
	testMigrationPage(t, m.w, m.srv.URL, m.addr, "rupe", "rupes-chat-pw", "newbie2")
}

func testMigrationPage(t *testing.T, w *wiki, serveURL, chatAddr, chatName, chatPassword, wantSuggested string) {
	ctx := context.Background()
	out := startMigrationPage(t, w, serveURL, "")
	owner := startMigrationPage(t, w, serveURL, "rupert")
	newbie := startMigrationPage(t, w, serveURL, "newbie")

	// A cross-site form (no token, another origin) changes nothing.
	resp, err := http.PostForm(owner, neturl.Values{"action": {"suggest"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a form without the token: %d, want 403", resp.StatusCode)
	}

	shot := mustAbs(t, "artifacts/migration.png")
	_ = os.MkdirAll(filepath.Dir(shot), 0o755)
	raw, err := exec.Command("node", "browser/migration.mjs", out, owner, newbie, shot, chatName, chatPassword, "alice", "a-strangers-chat-pw").CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, raw)
	}
	var got struct {
		LoggedOut, RegisterLink string
		WrongPassword, Taken    struct{ Error, Notice string }
		Claimed                 struct{ Error, Notice string }
		AfterReload             string
		Suggested               struct{ Error, Notice, ID string }
	}
	if err := json.Unmarshal(raw[bytes.LastIndexByte(bytes.TrimSpace(raw), '\n')+1:], &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	t.Logf("page: %+v", got)
	checks := []struct {
		what, got, want string
	}{
		{"logged out", got.LoggedOut, "register a wiki account"},
		{"register link", got.RegisterLink, "tiki-register.php"},
		{"wrong chat password", got.WrongPassword.Error, "did not accept that chat name and password"},
		{"another wiki user's id", got.Taken.Error, "Another wiki account already uses that chat name"},
		{"claimed", got.Claimed.Notice, "Your chat name is now " + chatName + ". Your old chat account is closed"},
		{"after reload", got.AfterReload, chatName},
		{"suggested", got.Suggested.Notice, "Your chat name is now " + wantSuggested},
		{"suggested, stored", got.Suggested.ID, wantSuggested},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: the page said %q, want %q", c.what, c.got, c.want)
		}
	}
	if got.Claimed.Error != "" || got.Suggested.Error != "" {
		t.Errorf("errors on the way: %q %q", got.Claimed.Error, got.Suggested.Error)
	}
	var stored sql.NullString
	if err := w.Root.QueryRow("SELECT livechat_id FROM users_users WHERE login = 'rupert'").Scan(&stored); err != nil || stored.String != chatName {
		t.Fatalf("rupert's livechat_id: %v %v", stored, err)
	}
	jid := chatName + "@chat.test"
	if !eventually(t, 5*time.Second, func() bool { err = goSignIn(ctx, chatAddr, jid, "rupert-pw"); return err == nil }) {
		t.Errorf("the wiki password does not sign in as %s: %v", jid, err)
	}
	if err := goSignIn(ctx, chatAddr, jid, chatPassword); err == nil {
		t.Errorf("the old chat password still signs in as %s", jid)
	}
}
