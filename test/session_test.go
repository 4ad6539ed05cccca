package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"livechat-auth/provider/session"
)

// postSession sends body to serve's session API with the given header
// values, exactly as written, and returns the status.
func postSession(t testing.TB, serveURL, ts, sig, body string) int {
	t.Helper()
	status, _ := signedSession(t, serveURL, ts, sig, body)
	return status
}

// TestServeSessionReplayUnderAnotherSpelling: one captured signed request
// is good for one session, however its signature is re-spelled.
func TestServeSessionReplayUnderAnotherSpelling(t *testing.T) {
	w := newWiki(t)
	sessionKey := []byte("the wiki and livechat-auth share this key")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf(
		"token:\n  signing_key_file: %q\nsession:\n  key: %q\n", keygen(t, "ES256"), sessionKey))
	srv := startServe(t, cfgPath)

	body := `{"login":"alice","nonce":"r1"}`
	now := time.Now()
	ts := fmt.Sprint(now.Unix())
	sig := session.Sign(sessionKey, now, []byte(body))
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
	if upper == sig {
		t.Fatal("the signature has no a-f digit to re-case")
	}
	for _, step := range []struct {
		name, sig string
		want      int
	}{
		{"first use", sig, http.StatusOK},
		{"the same request again", sig, http.StatusUnauthorized},
		{"the same request, signature upper-cased", upper, http.StatusUnauthorized},
		{"the same request, prefix twice", "sha256=" + sig, http.StatusUnauthorized},
	} {
		if got := postSession(t, srv.URL, ts, step.sig, body); got != step.want {
			t.Errorf("%s: status %d, want %d", step.name, got, step.want)
		}
	}
	if n := len(logLines(t, logPath, "session refused", "reason=replayed")); n != 1 {
		t.Errorf("%d replay refusals logged, want 1", n)
	}
	if n := len(logLines(t, logPath, "session refused", "reason=bad-signature")); n != 2 {
		t.Errorf("%d bad-signature refusals logged, want 2", n)
	}
	// A new request (another nonce) still gets its session.
	body2 := `{"login":"alice","nonce":"r2"}`
	if got := postSession(t, srv.URL, ts, session.Sign(sessionKey, now, []byte(body2)), body2); got != http.StatusOK {
		t.Errorf("a fresh request: status %d", got)
	}
}
