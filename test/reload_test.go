package test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat-auth/provider/token"
)

// keyedSettings are the files and URLs of a serve setup where every
// key-ish setting is in use; a bad input replaces one of them.
type keyedSettings struct {
	dsnFile, signingKey, publicKey, secretFile, sessionKeyFile, httpSecretFile, jwksURL string
	logPath                                                                             string
	raw                                                                                 string // when set, the whole config file
}

func (s keyedSettings) yaml() string {
	if s.raw != "" {
		return s.raw
	}
	return fmt.Sprintf(`domains: [chat.test]
wiki:
  dsn_file: %q
log:
  level: debug
  file: %q
token:
  signing_key_file: %q
  public_key_files: [%q]
  secret_file: %q
  jwks_url: %q
session:
  key_file: %q
httpauth:
  secret_file: %q
`, s.dsnFile, s.logPath, s.signingKey, s.publicKey, s.secretFile, s.jwksURL, s.sessionKeyFile, s.httpSecretFile)
}

// keyedSetup is a working keyedSettings and the keys behind it, so that
// the test can mint a token from every source serve accepts.
type keyedSetup struct {
	settings    keyedSettings
	dir         string
	secret      string // token.secret
	sessionKey  string
	httpSecret  string
	otherMinter *token.Minter // its public key is in token.public_key_files
	jwksMinter  *token.Minter // its public key is served at token.jwks_url
	hsMinter    *token.Minter // token.secret
}

func writeFileT(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKeyedSetup(t *testing.T, w *wiki) *keyedSetup {
	t.Helper()
	dir := t.TempDir()
	ks := &keyedSetup{dir: dir, secret: "the HS256 secret of the wiki, 32+ bytes",
		sessionKey: "the session key the wiki signs with, 32+", httpSecret: "the chat server's shared secret"}
	minter := func(key any) *token.Minter {
		m, err := token.NewMinter(token.MinterConfig{Key: key, Issuer: "livechat-auth", Audience: "xmpp"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	other, jwksKey := newKey(), newKey()
	der, err := x509.MarshalPKIXPublicKey(other.Public())
	if err != nil {
		t.Fatal(err)
	}
	ks.otherMinter, ks.jwksMinter, ks.hsMinter = minter(other), minter(jwksKey), minter([]byte(ks.secret))
	keys, err := token.NewKeySet(map[string]crypto.PublicKey{ks.jwksMinter.KeyID(): jwksKey.Public()}, ks.jwksMinter.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(keys.JWKS())
	t.Cleanup(jwks.Close)
	ks.settings = keyedSettings{
		dsnFile:        writeFileT(t, filepath.Join(dir, "dsn"), w.ReaderDSN+"\n"),
		signingKey:     keygen(t, "ES256"),
		publicKey:      writeFileT(t, filepath.Join(dir, "other.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))),
		secretFile:     writeFileT(t, filepath.Join(dir, "token-secret"), ks.secret+"\n"),
		sessionKeyFile: writeFileT(t, filepath.Join(dir, "session-key"), ks.sessionKey+"\n"),
		httpSecretFile: writeFileT(t, filepath.Join(dir, "httpauth-secret"), ks.httpSecret+"\n"),
		jwksURL:        jwks.URL,
		logPath:        filepath.Join(dir, "serve.log"),
	}
	return ks
}

// badInput is one way an operator can break the settings.
type badInput struct {
	name  string
	apply func(s *keyedSettings)
	want  string // the error names this: the file, URL or key
}

// badInputs breaks every key-ish setting in every way: missing, not
// readable (a directory, or a path under a file: the tests run as root,
// for whom chmod 000 changes nothing), garbage; and the file itself.
func badInputs(t *testing.T, ks *keyedSetup) []badInput {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	folder := filepath.Join(dir, "a-folder")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	underFile := filepath.Join(ks.settings.secretFile, "key.pem")
	garbage := writeFileT(t, filepath.Join(dir, "garbage"), "this is no key\n")
	short := writeFileT(t, filepath.Join(dir, "short"), "too short\n")
	empty := writeFileT(t, filepath.Join(dir, "empty"), "\n")
	privateAsPublic := ks.settings.signingKey
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>not a JWKS</html>") }))
	t.Cleanup(notJSON.Close)
	deadURL := fmt.Sprintf("http://127.0.0.1:%d/jwks.json", freePort(t))
	cfgPath := filepath.Join(ks.dir, "livechat-auth.yaml")
	var in []badInput
	for _, f := range []struct {
		key string
		set func(s *keyedSettings, path string)
		bad []string // extra garbage files for this key
	}{
		{"token.signing_key_file", func(s *keyedSettings, p string) { s.signingKey = p }, []string{garbage}},
		{"token.public_key_files", func(s *keyedSettings, p string) { s.publicKey = p }, []string{garbage, privateAsPublic}},
		{"token.secret_file", func(s *keyedSettings, p string) { s.secretFile = p }, []string{short, empty}},
		{"session.key_file", func(s *keyedSettings, p string) { s.sessionKeyFile = p }, []string{short, empty}},
		{"httpauth.secret_file", func(s *keyedSettings, p string) { s.httpSecretFile = p }, []string{short, empty}},
		{"wiki.dsn_file", func(s *keyedSettings, p string) { s.dsnFile = p }, []string{garbage, empty}},
	} {
		for _, p := range append([]string{missing, folder, underFile}, f.bad...) {
			in = append(in, badInput{name: f.key + " " + filepath.Base(p), apply: func(s *keyedSettings) { f.set(s, p) }, want: p})
		}
	}
	return append(in,
		badInput{"token.jwks_url unreachable", func(s *keyedSettings) { s.jwksURL = deadURL }, deadURL},
		badInput{"token.jwks_url not a JWKS", func(s *keyedSettings) { s.jwksURL = notJSON.URL }, notJSON.URL},
		badInput{"YAML syntax", func(s *keyedSettings) { s.raw = s.yaml() + "token: [unclosed\n" }, cfgPath},
		badInput{"YAML unknown key", func(s *keyedSettings) { s.raw = s.yaml() + "tokn:\n  secret: x\n" }, cfgPath},
		badInput{"YAML wrong type", func(s *keyedSettings) { s.raw = strings.Replace(s.yaml(), "level: debug", "level: [debug]", 1) }, cfgPath},
		badInput{"invalid domain", func(s *keyedSettings) { s.raw = strings.Replace(s.yaml(), "[chat.test]", `["NOT A DOMAIN"]`, 1) }, "domains: "},
		badInput{"negative request timeout", func(s *keyedSettings) { s.raw = s.yaml() + "serve:\n  request_timeout: -1s\n" }, "serve.request_timeout: "},
	)
}

// TestServeRefusesBadKeysAtStart: every bad input stops serve at start
// with a non-zero exit and one line on stderr naming what is wrong, never
// a panic and never a secret.
func TestServeRefusesBadKeysAtStart(t *testing.T) {
	w := newWiki(t)
	ks := newKeyedSetup(t, w)
	for _, in := range badInputs(t, ks) {
		t.Run(in.name, func(t *testing.T) {
			s := ks.settings
			s.logPath = filepath.Join(t.TempDir(), "serve.log")
			in.apply(&s)
			cfgPath := writeFileT(t, filepath.Join(ks.dir, "livechat-auth.yaml"), s.yaml())
			cmd := exec.Command(binPath, "serve", "--config", cfgPath)
			cmd.Env = []string{"PATH=/usr/bin:/bin", fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", freePort(t))}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatal("serve kept running with bad settings")
			}
			out := stderr.String()
			if code := cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("exit 0 with bad settings")
			}
			if lines := strings.Split(strings.TrimRight(out, "\n"), "\n"); len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), out)
			}
			if !strings.Contains(out, in.want) {
				t.Errorf("stderr does not name %q:\n%s", in.want, out)
			}
			for _, leak := range []string{"panic", "goroutine", ks.secret, ks.sessionKey, ks.httpSecret} {
				if strings.Contains(out, leak) {
					t.Errorf("stderr holds %q:\n%s", leak, out)
				}
			}
		})
	}
}

// TestServeKeepsSettingsOnBadReload: for every bad input, SIGHUP leaves
// serve up with the running settings: a token from every key source still
// verifies, a session still mints, and the log says on one line that the
// reload was refused and why. A good reload afterwards takes effect.
func TestServeKeepsSettingsOnBadReload(t *testing.T) {
	w := newWiki(t)
	ks := newKeyedSetup(t, w)
	cfgPath := writeFileT(t, filepath.Join(ks.dir, "livechat-auth.yaml"), ks.settings.yaml())
	srv := startServe(t, cfgPath)
	signsIn := func(t *testing.T, secret, what, tok string) {
		t.Helper()
		if code, body, _ := checkPassword(t, srv.URL, secret, "alice", tok); code != 200 || body != "true" {
			t.Errorf("a token from %s: %d %q", what, code, body)
		}
	}
	mint := func(m *token.Minter) string {
		raw, _, err := m.Mint("sub", "alice")
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	keep := mint(ks.hsMinter) // minted before every reload, used after them
	stillWorks := func(t *testing.T) {
		t.Helper()
		select {
		case <-srv.exited:
			t.Fatal("serve exited")
		default:
		}
		if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
			t.Errorf("healthz %d", code)
		}
		status, resp := requestSession(t, srv.URL, []byte(ks.sessionKey), fmt.Sprintf(`{"login":"alice","nonce":%q}`, randomName("n")))
		if status != 200 {
			t.Fatalf("session API: %d %v", status, resp)
		}
		signsIn(t, ks.httpSecret, "the session API (signing key)", fmt.Sprint(resp["token"]))
		signsIn(t, ks.httpSecret, "token.secret", mint(ks.hsMinter))
		signsIn(t, ks.httpSecret, "token.public_key_files", mint(ks.otherMinter))
		signsIn(t, ks.httpSecret, "token.jwks_url", mint(ks.jwksMinter))
	}
	stillWorks(t)

	refused := 0
	for _, in := range badInputs(t, ks) {
		t.Run(in.name, func(t *testing.T) {
			s := ks.settings
			in.apply(&s)
			writeFileT(t, cfgPath, s.yaml())
			if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			refused++
			var lines []string
			if !eventually(t, 15*time.Second, func() bool {
				lines = logLines(t, ks.settings.logPath, "reload refused")
				return len(lines) >= refused
			}) {
				t.Fatalf("no refusal logged for reload %d", refused)
			}
			if len(lines) != refused {
				t.Fatalf("%d refusals logged after %d bad reloads", len(lines), refused)
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, in.want) || !strings.Contains(last, "generation=1") {
				t.Errorf("the refusal does not say why (want %q) or which settings run:\n%s", in.want, last)
			}
			stillWorks(t)
		})
	}
	log := readFile(t, ks.settings.logPath)
	for _, bad := range []string{"panic", "\n  | ", ks.secret, ks.sessionKey, ks.httpSecret} {
		if strings.Contains(log, bad) {
			t.Errorf("the log holds %q", bad)
		}
	}

	// A good reload still takes effect: a new httpauth secret replaces
	// the old one, and the token minted before every reload still works.
	const rotated = "the rotated shared secret, 16+ bytes"
	writeFileT(t, ks.settings.httpSecretFile, rotated+"\n")
	writeFileT(t, cfgPath, ks.settings.yaml())
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 15*time.Second, func() bool { return len(logLines(t, ks.settings.logPath, "reloaded", "generation=2")) == 1 }) {
		t.Fatal("the good reload was not reported")
	}
	if code, _, _ := checkPassword(t, srv.URL, ks.httpSecret, "alice", "alice-pw-1"); code != http.StatusUnauthorized {
		t.Errorf("the replaced httpauth secret still works: %d", code)
	}
	signsIn(t, rotated, "token.secret, minted before every reload", keep)
	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`livechat_auth_reloads_total{result="refused"} %d`, refused),
		`livechat_auth_reloads_total{result="ok"} 1`,
		"livechat_auth_config_generation 2",
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
