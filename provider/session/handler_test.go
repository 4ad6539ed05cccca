package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

var (
	testKey = []byte("the wiki's session key, 32 bytes or more")
	testNow = time.Unix(1800000000, 0)
)

// Faults the directory gives for the logins "down" (the database did
// not answer) and "broken" (anything else).
var (
	errDown   = fmt.Errorf("look up login: %w: connection refused", wikidb.ErrUnavailable)
	errBroken = errors.New("something else broke")
)

// fakeProfiles is every user's profile.
type fakeProfiles struct{}

func (fakeProfiles) Groups(context.Context, int64) ([]string, error) {
	return []string{"Room Monitors", "Registered"}, nil
}

func (fakeProfiles) RealName(_ context.Context, login string) (string, error) {
	if login == "alice" {
		return "Alice Liddell", nil
	}
	return "", nil
}

func ptr(s string) *string { return &s }

func newHandler(t *testing.T) (*Handler, *token.Verifier) {
	t.Helper()
	secret := []byte("token secret, at least thirty-two bytes")
	m, err := token.NewMinter(token.MinterConfig{Key: secret, KeyID: "k", Issuer: "livechat-auth", Audience: "xmpp",
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(token.VerifierConfig{Algorithms: []string{token.HS256}, Secrets: map[string][]byte{"k": secret},
		Issuer: "livechat-auth", Audience: "xmpp", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	dir := providertest.NewDirectory(wikidb.DefaultPrefs(),
		wikidb.User{ID: 2, Login: "alice", LivechatID: ptr("Alice"), PassConfirm: 1},
		wikidb.User{ID: 3, Login: "nina", LivechatID: ptr("nina"), PassConfirm: 1, Waiting: "a"},
		wikidb.User{ID: 4, Login: "rupert", PassConfirm: 1},
		wikidb.User{ID: 5, Login: "quinn", LivechatID: ptr("quinn"), PassConfirm: 1, TwoFactorSecret: "X"},
		wikidb.User{ID: 6, Login: "zoë", LivechatID: ptr("zoë"), PassConfirm: 1},
	)
	dir.FailFor("down", errDown)
	dir.FailFor("broken", errBroken)
	accounts, err := provider.New(dir, provider.Config{Domains: []string{"chat.test"}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(accounts, fakeProfiles{}, m, hclog.NewNullLogger(), Config{Key: testKey, Domain: "chat.test",
		WebSocketURL: "wss://wiki.test/xmpp-websocket", MigrationURL: "https://wiki.test/tiki-livechat_migration.php",
		AvatarURL: "https://wiki.test/tiki-show_user_avatar.php?user={login}", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return h, v
}

func post(h http.Handler, body string, ts time.Time, sig string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(body))
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set(HeaderSignature, sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func signed(h http.Handler, body string) *httptest.ResponseRecorder {
	return post(h, body, testNow, Sign(testKey, testNow, []byte(body)))
}

func TestSessionGranted(t *testing.T) {
	h, v := newHandler(t)
	w := signed(h, `{"login":"alice","locale":"fr","metadata":{"page":"Help"}}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var resp Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.JID != "alice@chat.test" || resp.ExpiresIn != 300 || resp.WebSocketURL == "" ||
		resp.Profile.DisplayName != "Alice Liddell" || resp.Profile.Locale != "fr" ||
		resp.Profile.AvatarURL != "https://wiki.test/tiki-show_user_avatar.php?user=alice" ||
		strings.Join(resp.Profile.Groups, ",") != "Registered,Room Monitors" {
		t.Fatalf("response %+v", resp)
	}
	c, err := v.Verify(context.Background(), resp.Token)
	if err != nil || c.Subject != "alice" {
		t.Fatalf("minted token: %+v, %v", c, err)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("token response may be cached")
	}
	// The same signed request again: refused.
	if w := signed(h, `{"login":"alice","locale":"fr","metadata":{"page":"Help"}}`); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Errorf("replayed request: %d %s", w.Code, w.Body)
	}
	// By user id, and a 2FA account (the wiki checked the code).
	for _, body := range []string{`{"user_id":2}`, `{"login":"quinn"}`} {
		if w := signed(h, body); w.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", body, w.Code, w.Body)
		}
	}
}

func TestSessionRefused(t *testing.T) {
	h, _ := newHandler(t)
	body := `{"login":"alice"}`
	good := Sign(testKey, testNow, []byte(body))
	tests := []struct {
		name   string
		w      *httptest.ResponseRecorder
		status int
		code   string
	}{
		{"altered body", post(h, `{"login":"nina"}`, testNow, good), 401, "bad-signature"},
		{"wrong key", post(h, body, testNow, Sign([]byte("another key, also thirty-two bytes!"), testNow, []byte(body))), 401, "bad-signature"},
		{"stale timestamp", post(h, body, testNow.Add(-6*time.Minute), Sign(testKey, testNow.Add(-6*time.Minute), []byte(body))), 401, "stale-timestamp"},
		{"future timestamp", post(h, body, testNow.Add(6*time.Minute), Sign(testKey, testNow.Add(6*time.Minute), []byte(body))), 401, "stale-timestamp"},
		{"signature for another timestamp", post(h, body, testNow.Add(time.Second), good), 401, "bad-signature"},
		{"no signature", post(h, body, testNow, ""), 401, "bad-signature"},
		{"signature not hex", post(h, body, testNow, "sha256=zz"), 401, "bad-signature"},
		{"unknown user", signed(h, `{"login":"nobody"}`), 404, "unknown-user"},
		{"suspended", signed(h, `{"login":"nina"}`), 403, "suspended"},
		{"unmigrated", signed(h, `{"login":"rupert"}`), 409, "unmigrated"},
		{"login the collation matches, not the account", signed(h, `{"login":"zoe"}`), 404, "unknown-user"},
		{"login with another case", signed(h, `{"login":"Alice"}`), 404, "unknown-user"},
		{"unknown user id", signed(h, `{"user_id":99}`), 404, "unknown-user"},
		{"database down", signed(h, `{"login":"down"}`), 503, "db-unavailable"},
		{"other fault", signed(h, `{"login":"broken"}`), 500, "error"},
		{"both login and id", signed(h, `{"login":"alice","user_id":2}`), 400, "bad-request"},
		{"neither", signed(h, `{}`), 400, "bad-request"},
		{"unknown field", signed(h, `{"login":"alice","admin":true}`), 400, "bad-request"},
		{"not JSON", signed(h, `login=alice`), 400, "bad-request"},
		{"huge body", signed(h, `{"login":"`+strings.Repeat("a", maxBody)+`"}`), 413, "bad-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Error
			if err := json.Unmarshal(tt.w.Body.Bytes(), &e); err != nil {
				t.Fatalf("body %q: %v", tt.w.Body, err)
			}
			if tt.w.Code != tt.status || e.Error != tt.code {
				t.Fatalf("status %d error %q, want %d %q", tt.w.Code, e.Error, tt.status, tt.code)
			}
			if bytes.Contains(tt.w.Body.Bytes(), []byte("eyJ")) {
				t.Fatal("a refusal carries a token")
			}
			if tt.code == "unmigrated" && e.MigrationURL != "https://wiki.test/tiki-livechat_migration.php" {
				t.Fatalf("no migration URL: %+v", e)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/sessions", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
}

// TestSessionReplayUnderAnotherSpelling: the once-only record holds what
// was verified, so a captured request cannot be replayed by writing its
// signature another way.
func TestSessionReplayUnderAnotherSpelling(t *testing.T) {
	h, _ := newHandler(t)
	body := `{"login":"alice","nonce":"r1"}`
	sig := Sign(testKey, testNow, []byte(body))
	if w := post(h, body, testNow, sig); w.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	if w := post(h, body, testNow, sig); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
	if upper == sig {
		t.Fatal("the signature has no a-f digit to re-case; change the nonce")
	}
	if w := post(h, body, testNow, upper); w.Code != http.StatusUnauthorized {
		t.Fatalf("replay with the signature upper-cased: %d %s", w.Code, w.Body)
	}
}

// TestSessionRefusesNonCanonicalSignatures: only the spelling Sign
// produces is accepted, even for a fresh request with a valid MAC.
func TestSessionRefusesNonCanonicalSignatures(t *testing.T) {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	tests := []struct {
		name     string
		ts, sigs func(body string) []string
		code     string
	}{
		{"upper-case hex", one(ts), func(b string) []string {
			return []string{"sha256=" + strings.ToUpper(hexMAC(ts, b))}
		}, "bad-signature"},
		{"upper-case prefix", one(ts), func(b string) []string { return []string{"SHA256=" + hexMAC(ts, b)} }, "bad-signature"},
		{"no prefix", one(ts), func(b string) []string { return []string{hexMAC(ts, b)} }, "bad-signature"},
		{"prefix twice", one(ts), func(b string) []string { return []string{"sha256=sha256=" + hexMAC(ts, b)} }, "bad-signature"},
		{"one digit short", one(ts), func(b string) []string { return []string{"sha256=" + hexMAC(ts, b)[:63]} }, "bad-signature"},
		{"one digit more", one(ts), func(b string) []string { return []string{"sha256=" + hexMAC(ts, b) + "0"} }, "bad-signature"},
		{"trailing space", one(ts), func(b string) []string { return []string{"sha256=" + hexMAC(ts, b) + " "} }, "bad-signature"},
		{"leading space", one(ts), func(b string) []string { return []string{" sha256=" + hexMAC(ts, b)} }, "bad-signature"},
		{"space after the prefix", one(ts), func(b string) []string { return []string{"sha256= " + hexMAC(ts, b)} }, "bad-signature"},
		{"two signature headers", one(ts), func(b string) []string {
			return []string{"sha256=" + hexMAC(ts, b), "sha256=" + hexMAC(ts, b)}
		}, "bad-signature"},
		{"two timestamp headers", func(string) []string { return []string{ts, ts} }, func(b string) []string {
			return []string{"sha256=" + hexMAC(ts, b)}
		}, "bad-timestamp"},
		{"timestamp with a plus sign", one("+" + ts), func(b string) []string { return []string{"sha256=" + hexMAC("+"+ts, b)} }, "bad-timestamp"},
		{"timestamp with a leading zero", one("0" + ts), func(b string) []string { return []string{"sha256=" + hexMAC("0"+ts, b)} }, "bad-timestamp"},
	}
	h, _ := newHandler(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"login":"alice","nonce":"n%d"}`, i) // fresh: never a replay
			r := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(body))
			r.Header[HeaderTimestamp] = tt.ts(body)
			r.Header[HeaderSignature] = tt.sigs(body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var e Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != http.StatusUnauthorized || e.Error != tt.code {
				t.Fatalf("status %d error %q, want 401 %q", w.Code, e.Error, tt.code)
			}
		})
	}
	// The canonical spelling of a fresh request still passes.
	if w := signed(h, `{"login":"alice","nonce":"canonical"}`); w.Code != http.StatusOK {
		t.Fatalf("canonical request: %d %s", w.Code, w.Body)
	}
}

func one(v string) func(string) []string { return func(string) []string { return []string{v} } }

// hexMAC is the lower-case hex MAC of body under the timestamp text ts.
func hexMAC(ts, body string) string { return hex.EncodeToString(mac(testKey, ts, []byte(body))) }

// TestSessionReplayAfterRebuild: a handler rebuilt with the same Seen (as
// serve does on a reload) still refuses a request the first one granted.
func TestSessionReplayAfterRebuild(t *testing.T) {
	h, _ := newHandler(t)
	body := `{"login":"alice","nonce":"reload"}`
	sig := Sign(testKey, testNow, []byte(body))
	if w := post(h, body, testNow, sig); w.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	cfg := h.cfg
	cfg.Seen = h.seen
	rebuilt, err := New(h.accounts, h.profiles, h.minter, h.log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w := post(rebuilt, body, testNow, sig); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Fatalf("replay after a rebuild: %d %s", w.Code, w.Body)
	}
	cfg.Seen = nil
	fresh, err := New(h.accounts, h.profiles, h.minter, h.log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w := post(fresh, body, testNow, sig); w.Code != http.StatusOK {
		t.Fatalf("control: a handler with its own record refused a request it never saw: %d %s", w.Code, w.Body)
	}
}

// TestSessionReplayAfterWiderSkew: a reload that widens session.max_skew
// does not make a used request good again, neither while the record holds
// it nor after the record has forgotten it (it refuses what is that old).
func TestSessionReplayAfterWiderSkew(t *testing.T) {
	h, _ := newHandler(t)
	now := testNow
	cfg := h.cfg
	cfg.MaxSkew, cfg.Seen, cfg.Now = 3*time.Second, NewSeen(), func() time.Time { return now }
	narrow, err := New(h.accounts, h.profiles, h.minter, h.log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"login":"alice","nonce":"skew"}`
	sig := Sign(testKey, testNow, []byte(body))
	if w := post(narrow, body, testNow, sig); w.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	cfg.MaxSkew = time.Hour
	wide, err := New(h.accounts, h.profiles, h.minter, h.log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now = testNow.Add(8 * time.Second) // past twice the old skew, well inside the new one
	if w := post(wide, body, testNow, sig); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Fatalf("replay under the wider skew: %d %s", w.Code, w.Body)
	}
	// Enough requests under the narrow skew, later, make the record
	// forget the first; the wide handler still refuses it.
	now = testNow.Add(20 * time.Second)
	for i := 0; i < 1100; i++ {
		b := fmt.Sprintf(`{"login":"alice","nonce":"fill-%d"}`, i)
		if w := post(narrow, b, now, Sign(testKey, now, []byte(b))); w.Code != http.StatusOK {
			t.Fatalf("fill %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := post(wide, body, testNow, sig); w.Code != http.StatusUnauthorized {
		t.Fatalf("replay after the record was pruned: %d %s", w.Code, w.Body)
	}
	// A fresh request under the wide skew, 20 s old, is still fine.
	b := `{"login":"alice","nonce":"fresh"}`
	old := now.Add(-time.Second)
	if w := post(wide, b, old, Sign(testKey, old, []byte(b))); w.Code != http.StatusOK {
		t.Fatalf("control: a new request refused: %d %s", w.Code, w.Body)
	}
}

// TestSessionRefusesAmbiguousBodies: a body the wiki's JSON reader might
// read another way is refused, even signed.
func TestSessionRefusesAmbiguousBodies(t *testing.T) {
	h, _ := newHandler(t)
	for _, body := range []string{
		`{"login":"alice","nonce":"a"}{"login":"nina"}`,
		`{"login":"alice","nonce":"b"} x`,
		`{"login":"nina","login":"alice","nonce":"c"}`,
		`{"Login":"alice","nonce":"d"}`,
		`{"login":"alice","extra":1,"nonce":"e"}`,
		`{"login":"alice","user_id":2,"nonce":"f"}`,
		`{"user_id":"2","nonce":"g"}`,
		`["alice"]`,
		`null`,
	} {
		w := signed(h, body)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "bad-request") {
			t.Errorf("%s: %d %s, want 400 bad-request", body, w.Code, w.Body)
		}
	}
	if w := signed(h, "{\"login\":\"alice\",\"nonce\":\"ok\"}\n"); w.Code != http.StatusOK {
		t.Errorf("control: a plain body with a trailing newline: %d %s", w.Code, w.Body)
	}
}

// TestSessionBareToken: Accept: application/jwt answers the bare token
// with that type; JSON stays the answer otherwise, and refusals are JSON.
func TestSessionBareToken(t *testing.T) {
	h, v := newHandler(t)
	ask := func(body, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(body))
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10))
		r.Header.Set(HeaderSignature, Sign(testKey, testNow, []byte(body)))
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := ask(`{"login":"alice","nonce":"1"}`, "application/jwt")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/jwt" {
		t.Fatalf("bare token: %d %s %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if c, err := v.Verify(context.Background(), w.Body.String()); err != nil || c.Subject != "alice" {
		t.Errorf("the bare token: %+v, %v", c, err)
	}
	if w := ask(`{"login":"alice","nonce":"3"}`, "application/json;q=0.5, application/jwt"); w.Header().Get("Content-Type") != "application/jwt" {
		t.Errorf("jwt preferred by quality: %s", w.Header().Get("Content-Type"))
	}
	for _, accept := range []string{"", "application/json", "application/json, application/jwt", "*/*", "application/jwt;q=0.5, application/json", "application/jwt;q=0"} {
		if w := ask(`{"login":"alice","nonce":"`+accept+`"}`, accept); !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("Accept %q: %s", accept, w.Header().Get("Content-Type"))
		}
	}
	if w := ask(`{"login":"nina","nonce":"2"}`, "application/jwt"); w.Code == 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("a refusal with Accept: application/jwt: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}
