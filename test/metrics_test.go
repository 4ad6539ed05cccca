package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livechat-auth/test/harness"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/httpauth"
)

// decisionSeries reads serve's /metrics and returns the value of every
// series, by name and labels as the text format writes them
// (`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"}`).
func decisionSeries(t testing.TB, serveURL string) map[string]float64 {
	t.Helper()
	code, body := get(t, serveURL+"/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	return harness.Series(t, body)
}

// userExists asks serve's HTTP contract whether a user exists.
func userExists(t testing.TB, base, secret, user string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/auth/user_exists?"+url.Values{"user": {user}, "server": {"chat.test"}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", httpauth.BasicAuthorization("prosody", []byte(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // a short body; its absence shows in the comparison
	return resp.StatusCode, string(b)
}

// TestDecisionMetrics: every decision on every edge is counted once in
// serve's /metrics: ejabberd's relayed auth and isuser (edge extauth), the
// HTTP contract's check_password and user_exists (edge httpauth, the
// Prosody module's path) and the session API. A database outage is
// counted as db-unavailable; refusals keep their reason codes, and
// nothing is counted as a fault that was not one.
func TestDecisionMetrics(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	socket := filepath.Join(t.TempDir(), "extauth.sock")
	const secret = "the chat server's shared secret"
	sessionKey := []byte("the wiki and livechat-auth share this key")
	key := keygen(t, "ES256")
	cfgPath, _ := writeConfig(t, t.TempDir(), proxy.DSN(t, w.ReaderDSN), []string{"chat.test"}, fmt.Sprintf(
		"extauth:\n  daemon_socket: %q\nhttpauth:\n  secret: %q\ntoken:\n  signing_key_file: %q\nsession:\n  key: %q\n",
		socket, secret, key, sessionKey))
	srv := startServe(t, cfgPath)
	if !eventually(t, 10*time.Second, func() bool { fi, err := os.Stat(socket); return err == nil && fi.Mode()&os.ModeSocket != 0 }) {
		t.Fatal("serve made no extauth socket")
	}
	relay := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)

	// Before any decision, the series alerts are written on exist at 0.
	m := decisionSeries(t, srv.URL)
	for _, series := range []string{
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="db-unavailable"}`,
		`livechat_auth_decisions_total{cmd="isuser",edge="extauth",result="error"}`,
		`livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="db-unavailable"}`,
		`livechat_auth_decisions_total{cmd="session",edge="session",result="accepted"}`,
		`livechat_auth_db_errors_total{edge="extauth"}`,
	} {
		if v, ok := m[series]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0 before any decision", series, v, ok)
		}
	}

	ask := func(cmd, user, pass string) bool {
		return relay.ask(t, extauth.Request{Command: cmd, User: user, Server: "chat.test", Password: pass})
	}
	if !ask("auth", "alice", "alice-pw-1") || !ask("isuser", "alice", "") {
		t.Fatal("relayed auth or isuser refused")
	}
	if ask("auth", "alice", "wrong") || ask("isuser", "nobody", "") || ask("setpass", "alice", "new-pw") {
		t.Fatal("relayed refusals accepted")
	}
	if relay.askRaw(t, []byte{0, 1, 0xff}) {
		t.Fatal("a malformed frame accepted")
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "bob", "bob-pw-12"); body != "true" {
		t.Fatalf("check_password: %q", body)
	}
	if code, body := userExists(t, srv.URL, secret, "bob"); code != 200 || body != "true" {
		t.Fatalf("user_exists: %d %q", code, body)
	}
	if status, resp := requestSession(t, srv.URL, sessionKey, `{"login":"alice","nonce":"m1"}`); status != 200 {
		t.Fatalf("session: %d %v", status, resp)
	}

	// The database goes away: every edge counts its faults as such.
	proxy.Stop()
	if ask("auth", "carol", "carol-pw-2a") || ask("isuser", "dave", "") {
		t.Fatal("a relayed decision accepted with the database down")
	}
	if _, body, _ := checkPassword(t, srv.URL, secret, "carol", "carol-pw-2a"); body != "false" {
		t.Fatalf("check_password with the database down: %q", body)
	}
	if code, _ := userExists(t, srv.URL, secret, "dave"); code != http.StatusServiceUnavailable {
		t.Fatalf("user_exists with the database down: %d", code)
	}
	if status, resp := requestSession(t, srv.URL, sessionKey, `{"login":"bob","nonce":"m2"}`); status != http.StatusServiceUnavailable {
		t.Fatalf("session with the database down: %d %v", status, resp)
	}
	relay.finish(t)

	m = decisionSeries(t, srv.URL)
	want := map[string]float64{
		`cmd="auth",edge="extauth",result="accepted"`:                  1,
		`cmd="isuser",edge="extauth",result="accepted"`:                1,
		`cmd="auth",edge="extauth",result="bad-password"`:              1,
		`cmd="isuser",edge="extauth",result="unknown-user"`:            1,
		`cmd="setpass",edge="extauth",result="read-only"`:              1,
		`cmd="malformed",edge="extauth",result="bad-request"`:          1,
		`cmd="auth",edge="extauth",result="db-unavailable"`:            1,
		`cmd="isuser",edge="extauth",result="db-unavailable"`:          1,
		`cmd="check_password",edge="httpauth",result="accepted"`:       1,
		`cmd="user_exists",edge="httpauth",result="accepted"`:          1,
		`cmd="check_password",edge="httpauth",result="db-unavailable"`: 1,
		`cmd="user_exists",edge="httpauth",result="db-unavailable"`:    1,
		`cmd="session",edge="session",result="accepted"`:               1,
		`cmd="session",edge="session",result="db-unavailable"`:         1,
	}
	total := 0.0
	for series, v := range m {
		labels, ok := strings.CutPrefix(series, "livechat_auth_decisions_total{")
		if !ok {
			continue
		}
		labels = strings.TrimSuffix(labels, "}")
		total += v
		if v != want[labels] {
			t.Errorf("decisions{%s} = %v, want %v", labels, v, want[labels])
		}
	}
	for labels, v := range want {
		if _, ok := m["livechat_auth_decisions_total{"+labels+"}"]; !ok {
			t.Errorf("decisions{%s} missing, want %v", labels, v)
		}
	}
	if total != 14 {
		t.Errorf("%v decisions counted for 14 requests", total)
	}
	for edge, n := range map[string]float64{"extauth": 2, "httpauth": 2, "session": 1} {
		if v := m[`livechat_auth_db_errors_total{edge="`+edge+`"}`]; v != n {
			t.Errorf("db_errors_total{edge=%q} = %v, want %v", edge, v, n)
		}
	}
}

// TestStoreFaultsAreUnavailable: every question the wiki database does
// not answer (gone, or hanging past the query timeout) is an error that
// is wikidb.ErrUnavailable, so that the edges can tell it from their own
// faults; a missing account is no error at all.
func TestStoreFaultsAreUnavailable(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	store, err := wikidb.Open(proxy.DSN(t, w.ReaderDSN), wikidb.Config{QueryTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if _, found, err := store.UserByLivechatID(ctx, "nobody"); found || err != nil {
		t.Fatalf("unknown account: found %v, err %v", found, err)
	}
	questions := map[string]func() error{
		"Ping":             func() error { return store.Ping(ctx) },
		"UserByLivechatID": func() error { _, _, err := store.UserByLivechatID(ctx, "alice"); return err },
		"UserByLogin":      func() error { _, _, err := store.UserByLogin(ctx, "alice"); return err },
		"UserByID":         func() error { _, _, err := store.UserByID(ctx, 2); return err },
		"Groups":           func() error { _, err := store.Groups(ctx, 2); return err },
		"RealName":         func() error { _, err := store.RealName(ctx, "alice"); return err },
		"Accounts":         func() error { _, err := store.Accounts(ctx); return err },
		"GroupMembers":     func() error { _, err := store.GroupMembers(ctx, []string{"Registered"}); return err },
		"Prefs":            func() error { _, err := store.Prefs(ctx); return err }, // never read yet: no cached answer
	}
	for _, outage := range []struct {
		name  string
		start func(t testing.TB)
	}{
		{"down", func(testing.TB) { proxy.Stop() }},
		{"hanging", proxy.Hang},
	} {
		t.Run(outage.name, func(t *testing.T) {
			outage.start(t)
			for name, ask := range questions {
				if err := ask(); !errors.Is(err, wikidb.ErrUnavailable) {
					t.Errorf("%s: %v, want wikidb.ErrUnavailable", name, err)
				}
			}
			proxy.Start(t)
		})
	}
}
