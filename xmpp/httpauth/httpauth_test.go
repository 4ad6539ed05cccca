package httpauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

var secret = []byte("prosody-and-livechat-auth-share-this")

// fakeAuth accepts alice/secret-pw, knows alice, fails like a dead
// database for "down" and with a fault of its own for "broken".
type fakeAuth struct{}

var (
	errDown   = fmt.Errorf("look up livechat_id: %w: connection refused", wikidb.ErrUnavailable)
	errBroken = errors.New("something else broke")
)

func (fakeAuth) Authenticate(_ context.Context, user, _, password string) (provider.Account, error) {
	switch {
	case user == "down":
		return provider.Account{}, errDown
	case user == "broken":
		return provider.Account{}, errBroken
	case user == "alice" && password == "secret-pw":
		return provider.Account{}, nil
	}
	return provider.Account{}, provider.ReasonBadPassword
}

func (fakeAuth) UserExists(_ context.Context, user, _ string) (bool, error) {
	switch user {
	case "down":
		return false, errDown
	case "broken":
		return false, errBroken
	}
	if user == "alice" {
		return true, nil
	}
	return false, provider.ReasonUnknownUser
}

func newHandler(t *testing.T, logs *bytes.Buffer) *Handler {
	t.Helper()
	h, err := New(fakeAuth{}, hclog.New(&hclog.LoggerOptions{Output: logs}), Config{Base: "/auth", Secret: secret, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestContract(t *testing.T) {
	var logs bytes.Buffer
	h := newHandler(t, &logs)
	basic := BasicAuthorization("prosody", secret)
	q := func(user, pass string) string {
		return url.Values{"user": {user}, "server": {"chat.test"}, "pass": {pass}}.Encode()
	}
	tests := []struct {
		name, method, path, body, authz string
		status                          int
		answer                          string
	}{
		{"check_password GET yes", "GET", "/auth/check_password?" + q("alice", "secret-pw"), "", basic, 200, "true"},
		{"check_password GET no", "GET", "/auth/check_password?" + q("alice", "wrong-pw"), "", basic, 200, "false"},
		{"check_password POST form", "POST", "/auth/check_password", q("alice", "secret-pw"), basic, 200, "true"},
		{"bearer secret", "GET", "/auth/check_password?" + q("alice", "secret-pw"), "", "Bearer " + string(secret), 200, "true"},
		{"user_exists yes", "GET", "/auth/user_exists?user=alice&server=chat.test", "", basic, 200, "true"},
		{"user_exists no", "GET", "/auth/user_exists?user=bob&server=chat.test", "", basic, 200, "false"},
		{"database down", "GET", "/auth/check_password?" + q("down", "x"), "", basic, 503, "false"},
		{"user_exists, database down", "GET", "/auth/user_exists?user=down&server=chat.test", "", basic, 503, "false"},
		{"no secret", "GET", "/auth/check_password?" + q("alice", "secret-pw"), "", "", 401, "false"},
		{"wrong secret", "GET", "/auth/check_password?" + q("alice", "secret-pw"), "", BasicAuthorization("prosody", []byte("not-the-secret-at-all")), 401, "false"},
		{"register", "POST", "/auth/register", q("eve", "pw"), basic, 501, ""},
		{"set_password", "POST", "/auth/set_password", q("alice", "pw"), basic, 501, ""},
		{"remove_user", "POST", "/auth/remove_user", q("alice", ""), basic, 501, ""},
		{"missing server", "GET", "/auth/check_password?user=alice&pass=x", "", basic, 400, "false"},
		{"missing password", "GET", "/auth/check_password?user=alice&server=chat.test", "", basic, 400, "false"},
		{"oversized form", "POST", "/auth/check_password", q("alice", strings.Repeat("x", maxForm)), basic, 400, "false"},
		{"bad query encoding", "GET", "/auth/check_password?user=%zz", "", basic, 400, "false"},
		{"unknown method", "GET", "/auth/frobnicate", "", basic, 404, ""},
		{"other path", "GET", "/elsewhere/check_password", "", basic, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.method == "POST" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%q)", w.Code, tt.status, w.Body)
			}
			if tt.answer != "" && w.Body.String() != tt.answer {
				t.Fatalf("body %q, want %q", w.Body, tt.answer)
			}
			if tt.status == 200 && w.Header().Get("Content-Length") != "4" && w.Header().Get("Content-Length") != "5" {
				t.Fatalf("Content-Length %q", w.Header().Get("Content-Length"))
			}
		})
	}
	for _, leak := range []string{"secret-pw", "wrong-pw", string(secret)} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("log holds %q", leak)
		}
	}
	if !strings.Contains(logs.String(), "reason=bad-secret") || !strings.Contains(logs.String(), "reason=db-unavailable") {
		t.Errorf("log lacks reasons:\n%s", logs.String())
	}
}

func TestNewRequiresSecret(t *testing.T) {
	if _, err := New(fakeAuth{}, hclog.NewNullLogger(), Config{Timeout: time.Second}); err == nil {
		t.Fatal("no secret accepted")
	}
	h, err := New(fakeAuth{}, hclog.NewNullLogger(), Config{Base: "/auth", NoSecret: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/auth/user_exists?user=alice&server=chat.test", nil))
	if w.Body.String() != "true" {
		t.Fatalf("NoSecret: %d %q", w.Code, w.Body)
	}
}

// TestObserveEveryDecision: every answer to a method of the contract is
// observed once, with its result; a database fault is db-unavailable and
// any other fault is error; unknown paths are not decisions.
func TestObserveEveryDecision(t *testing.T) {
	basic := BasicAuthorization("prosody", secret)
	check := func(user, pass string) string {
		return "/auth/check_password?" + url.Values{"user": {user}, "server": {"chat.test"}, "pass": {pass}}.Encode()
	}
	exists := func(user string) string { return "/auth/user_exists?user=" + user + "&server=chat.test" }
	tests := []struct {
		name, method, path, authz string
		want                      string // "cmd result"; empty: not observed
	}{
		{"accepted", "GET", check("alice", "secret-pw"), basic, "check_password accepted"},
		{"bad password", "GET", check("alice", "wrong"), basic, "check_password bad-password"},
		{"database down", "GET", check("down", "x"), basic, "check_password db-unavailable"},
		{"other fault", "GET", check("broken", "x"), basic, "check_password error"},
		{"user exists", "GET", exists("alice"), basic, "user_exists accepted"},
		{"unknown user", "GET", exists("bob"), basic, "user_exists unknown-user"},
		{"user_exists, database down", "GET", exists("down"), basic, "user_exists db-unavailable"},
		{"user_exists, other fault", "GET", exists("broken"), basic, "user_exists error"},
		{"bad secret", "GET", check("alice", "secret-pw"), "Bearer wrong", "check_password bad-secret"},
		{"missing password", "GET", "/auth/check_password?user=alice&server=chat.test", basic, "check_password bad-request"},
		{"wrong HTTP method", "PUT", exists("alice"), basic, "user_exists bad-request"},
		{"write method", "POST", "/auth/set_password", basic, "set_password read-only"},
		{"unknown method", "GET", "/auth/frobnicate", basic, ""},
		{"unknown method, bad secret", "GET", "/auth/frobnicate", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			h, err := New(fakeAuth{}, hclog.NewNullLogger(), Config{Base: "/auth", Secret: secret, Timeout: time.Second,
				Observe: func(d provider.Decision) { seen = append(seen, d.Cmd+" "+d.Result) }})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			want := []string{tt.want}
			if tt.want == "" {
				want = nil
			}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("observed %q, want %q", seen, want)
			}
		})
	}
}
