package test

import (
	"bytes"
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

	"livechat-auth/provider/session"
)

// keygen makes a signing key with the binary and returns its path.
func keygen(t testing.TB, alg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signing.pem")
	out, err := exec.Command(binPath, "keygen", "--alg", alg, "--out", path).CombinedOutput()
	if err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("BEGIN PUBLIC KEY")) {
		t.Fatalf("keygen printed no public key:\n%s", out)
	}
	return path
}

// mintToken runs "livechat-auth token" and returns the token.
func mintToken(t testing.TB, cfgPath, user string, extra ...string) string {
	t.Helper()
	args := append([]string{"token", "--config", cfgPath}, extra...)
	cmd := exec.Command(binPath, append(args, user)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token %s: %v\n%s", user, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func TestEjabberdTokenSignIn(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	key := keygen(t, "ES256")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("token:\n  signing_key_file: %q\n", key))
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()

	alice := mintToken(t, cfgPath, "alice")
	if ok, out := signIn(t, "alice@"+host, alice, "127.0.0.1", ej.C2SPort); !ok {
		t.Fatalf("token sign-in refused: %s", out)
	}
	if err := goSignIn(ctx, addr, "alice@"+host, alice); err == nil {
		t.Error("the same token signed in twice")
	}
	if err := goSignIn(ctx, addr, "frank@"+host, mintToken(t, cfgPath, "alice")); err == nil {
		t.Error("alice's token signed frank in")
	}
	// quinn has 2FA: no password works over XMPP, a token does.
	if err := goSignIn(ctx, addr, "quinn@"+host, mintToken(t, cfgPath, "quinn")); err != nil {
		t.Errorf("2FA account with a token: %v", err)
	}
	// nina is suspended after her token was minted (token mints none for a
	// suspended account): the sign-in applies the rules afresh.
	mustExec(t, w.Root, "UPDATE users_users SET waiting = NULL WHERE login = 'nina'")
	ninaToken := mintToken(t, cfgPath, "nina")
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE login = 'nina'")
	if err := goSignIn(ctx, addr, "nina@"+host, ninaToken); err == nil {
		t.Error("suspended account signed in with a token")
	}
	short := mintToken(t, cfgPath, "bob", "--lifetime", "1s")
	time.Sleep(2 * time.Second)
	if err := goSignIn(ctx, addr, "bob@"+host, short); err == nil {
		t.Error("expired token signed in")
	}
	// A token from another key pair.
	otherCfg, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("token:\n  signing_key_file: %q\n", keygen(t, "ES256")))
	if err := goSignIn(ctx, addr, "bob@"+host, mintToken(t, otherCfg, "bob")); err == nil {
		t.Error("a token from an unknown key signed in")
	}
	for _, reason := range []string{"token-replayed", "token-subject", "suspended", "token-expired", "token-unknown-key"} {
		if len(logLines(t, logPath, "reason="+reason)) == 0 {
			t.Errorf("no log line with reason=%s", reason)
		}
	}
	if data, _ := os.ReadFile(logPath); bytes.Contains(data, []byte(alice)) || bytes.Contains(data, []byte(alice[:40])) {
		t.Error("the log holds a token")
	}
}

// serveProcess is "livechat-auth serve" started for a test.
type serveProcess struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startServe(t testing.TB, cfgPath string) *serveProcess {
	t.Helper()
	port := freePort(t)
	return startServeOn(t, cfgPath, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port))
}

// startServeOn starts serve with the given environment, listening on port.
func startServeOn(t testing.TB, cfgPath string, port int, env ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{URL: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	p.cmd = exec.Command(binPath, "serve", "--config", cfgPath)
	p.cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }() // reported through exited
	t.Cleanup(func() { p.stop(t) })
	waitPort(t, port, p.exited, 10*time.Second, "stderr")
	return p
}

// stop sends SIGTERM and waits for the process to drain and exit.
func (p *serveProcess) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // gone already is fine
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("serve did not stop on SIGTERM")
	}
}

// requestSession calls the session API as the wiki does.
func requestSession(t testing.TB, serveURL string, key []byte, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, serveURL+"/v1/sessions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req.Header.Set(session.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(session.HeaderSignature, session.Sign(key, now, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, out
}

func TestServeSessionSignIn(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	sessionKey := []byte("the wiki and livechat-auth share this key")
	key := keygen(t, "RS256")
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf(
		"token:\n  signing_key_file: %q\nsession:\n  key: %q\n  migration_url: https://wiki.test/tiki-livechat_migration.php\n  websocket_url: /xmpp-websocket\n",
		key, sessionKey))
	srv := startServe(t, cfgPath)
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)

	status, resp := requestSession(t, srv.URL, sessionKey, `{"login":"alice","locale":"en"}`)
	if status != http.StatusOK || resp["jid"] != "alice@chat.test" {
		t.Fatalf("session: %d %v", status, resp)
	}
	profile, _ := resp["profile"].(map[string]any)
	if profile["display_name"] != "Alice Liddell" || fmt.Sprint(profile["groups"]) != "[Editors Registered Room Monitors Support Team]" {
		t.Errorf("profile %v", profile)
	}
	tok, _ := resp["token"].(string)
	if err := goSignIn(context.Background(), fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), "alice@"+host, tok); err != nil {
		t.Fatalf("sign-in with the session's token: %v", err)
	}
	status, resp = requestSession(t, srv.URL, sessionKey, `{"login":"rupert"}`)
	if status != http.StatusConflict || resp["error"] != "unmigrated" || resp["migration_url"] != "https://wiki.test/tiki-livechat_migration.php" {
		t.Errorf("unmigrated: %d %v", status, resp)
	}
	if status, resp = requestSession(t, srv.URL, []byte("not the key, but just as long as it"), `{"login":"alice"}`); status != http.StatusUnauthorized {
		t.Errorf("wrong key: %d %v", status, resp)
	}

	// The public key, as PEM and as a JWKS.
	for path, ctype := range map[string]string{"/v1/keys/signing.pem": "text/plain", "/.well-known/jwks.json": "application/json"} {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) || bytes.Contains(body, []byte("PRIVATE")) {
			t.Errorf("%s: %d %s %.80s", path, r.StatusCode, r.Header.Get("Content-Type"), body)
		}
		if path == "/.well-known/jwks.json" && !bytes.Contains(body, []byte(`"kty":"RSA"`)) {
			t.Errorf("JWKS %s", body)
		}
	}
}
