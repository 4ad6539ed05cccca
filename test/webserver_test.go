package test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"livechat-auth/provider/session"
)

// TestWebServerFront runs README's nginx and Apache blocks with Debian's
// nginx and Apache in front of a wiki whose PHP runs in the php-fpm pool
// of docs/tiki.md, which is the only way the session key reaches PHP
// (php-fpm starts with an empty environment). Through each front: the
// session API, health and metrics of livechat-auth serve are not
// reachable, by their paths or by paths that step to them; a subpath of
// a chat path is not forwarded; the chat server learns the browser's
// scheme; the credentials endpoint hands out a token with which a BOSH
// client signs in through /http-bind (and once only); and headless
// Chromium opens the widget page, signs alice in over /xmpp-websocket and
// sends a message that bob, a second client, receives. Then the pool's
// socket itself: who gets the key from it (checkPool).
func TestWebServerFront(t *testing.T) {
	needBrowser(t)
	need(t, "root", os.Geteuid() == 0, "run as root: the web servers start as root and run as www-data")
	_, err := user.Lookup("www-data")
	need(t, "user www-data", err == nil, "adduser --system --group www-data")
	fpm := stackFPM(t)
	_, err = os.Stat("browser/node_modules/converse.js/dist/converse.min.js")
	need(t, "Converse.js", err == nil, "cd test/browser && npm ci")

	st := startChatStack(t)
	startPHPFPM(t, fpm, st)
	t.Run("nginx", func(t *testing.T) {
		stack.Need(t, "nginx", "apt-get install nginx")
		front := startNginx(t, st)
		resp, err := http.Get(front.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "nginx/" + stackVersions[stack.Name].nginx + "."; !strings.HasPrefix(resp.Header.Get("Server"), want) {
			t.Errorf("the front is %q, not the %s stack's %s", resp.Header.Get("Server"), stack.Name, want)
		}
		checkFront(t, st, front)
	})
	t.Run("apache", func(t *testing.T) {
		stack.Need(t, "apache2", "apt-get install apache2")
		checkFront(t, st, startApache(t, st))
	})
	// Last: its last request leaves the pool's worker with the
	// open_basedir it set, as php-fpm does.
	t.Run("php-fpm pool", func(t *testing.T) {
		checkPool(t, st)
	})
}

// stackFPM is the stack's php-fpm program: this machine's (Debian 12's
// php-fpm8.2), or Debian 13's php-fpm8.4.
func stackFPM(t *testing.T) string {
	t.Helper()
	if stack.Containers() {
		stack.Need(t, "php-fpm8.4", "apt-get install php-fpm")
		return "php-fpm8.4"
	}
	fpm, _ := filepath.Glob("/usr/sbin/php-fpm*")
	need(t, "php-fpm", len(fpm) > 0, "apt-get install php-fpm")
	return fpm[0]
}

// chatStack is what sits behind the web server: ejabberd (WebSocket and
// BOSH) with livechat-auth's extauth, livechat-auth serve proxying both,
// and the wiki's folder with the widget page and the credentials endpoint.
type chatStack struct {
	host       string
	sessionKey string
	serve      *serveProcess
	upstream   *chatUpstream // between serve's proxy and ejabberd
	c2sPort    int
	logPath    string // livechat-auth's log
	web        string // world-readable folder: docroot, php-fpm socket, web server files
	docroot    string
	socket     string
	tlsCert    string // the fronts' TLS certificate and key
	tlsKey     string
	tlsClient  *http.Client // trusts tlsCert
}

func startChatStack(t *testing.T) *chatStack {
	t.Helper()
	st := &chatStack{host: "chat.test", sessionKey: randomHex(t, 32)}
	w := newWiki(t)
	var cfgPath string
	cfgPath, st.logPath = writeConfig(t, t.TempDir(), w.ReaderDSN, []string{st.host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: st.host, Extauth: binPath + " extauth --config " + cfgPath, BOSH: true})
	st.c2sPort = ej.C2SPort
	st.upstream = startChatUpstream(t, fmt.Sprintf("http://127.0.0.1:%d", ej.HTTPPort))
	appendConfig(t, cfgPath, fmt.Sprintf(`token:
  signing_key_file: %q
session:
  key: %q
proxy:
  websocket_path: /xmpp-websocket
  websocket_upstream: ws://%[3]s/ws
  bosh_path: /http-bind
  bosh_upstream: http://%[3]s/bosh
`, keygen(t, "EdDSA"), st.sessionKey, st.upstream.addr))
	st.serve = startServe(t, cfgPath)

	// The web servers' workers run as www-data and php-fpm's as nobody:
	// they need to traverse this folder, which t.TempDir's 0700 parents
	// forbid.
	var err error
	st.web, err = os.MkdirTemp("", "livechat-web-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(st.web) })
	if err := os.Chmod(st.web, 0o755); err != nil {
		t.Fatal(err)
	}
	st.docroot = filepath.Join(st.web, "wiki")
	st.socket = filepath.Join(st.web, "php-fpm.sock")
	writeDocroot(t, st.docroot)
	certs := filepath.Join(st.web, "tls")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	st.tlsCert, st.tlsKey, st.tlsClient = writeCertificate(t, certs)
	return st
}

// writeDocroot lays out the wiki's root folder as docs/tiki.md says: the
// PHP files copied (each loads tiki-setup.php from its own folder), the
// widget page with the settings it imports, and Converse's dist/. tiki-setup.php stands in for Tiki's:
// it sets $user, the logged-in login, as Tiki's setup does.
func writeDocroot(t *testing.T, docroot string) {
	t.Helper()
	if err := os.Mkdir(docroot, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"tiki-setup.php": "<?php\n$user = 'alice'; // Tiki's setup: the logged-in login\n",
		"index.html":     readFile(t, "../examples/tiki/livechat-widget.html"),
	}
	for _, name := range []string{"livechat-credentials.php", "livechat-client.php", "livechat-converse.js"} {
		files[name] = readFile(t, "../examples/tiki/"+name)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(docroot, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(mustAbs(t, "browser/node_modules/converse.js/dist"), filepath.Join(docroot, "dist")); err != nil {
		t.Fatal(err)
	}
}

// checkFront is what every front must do.
func checkFront(t *testing.T, st *chatStack, fr front) {
	front, name := fr.url, fr.name
	t.Run("serve's APIs stay server to server", func(t *testing.T) {
		checkNotForwarded(t, st, front)
	})
	t.Run("the chat server learns the browser's scheme", func(t *testing.T) {
		checkForwardedProto(t, st, fr)
	})
	t.Run("BOSH through /http-bind", func(t *testing.T) {
		token := credentials(t, front)
		if ok, out := boshSignIn(t, front+"/http-bind", st.host, "alice", token); !ok {
			t.Fatalf("alice's token did not sign in over BOSH through the front:\n%s", out)
		}
		if ok, _ := boshSignIn(t, front+"/http-bind", st.host, "alice", token); ok {
			t.Fatal("the same token signed in twice over BOSH")
		}
	})
	t.Run("widget through /xmpp-websocket", func(t *testing.T) {
		checkWidget(t, st, front, name)
	})
}

// checkNotForwarded asks the front and serve for serve's own paths: serve
// answers each, the front answers 404 (its docroot has no such file).
// Paths that step from a chat path to serve's own reach neither serve's
// session API nor its metrics, and a chat path's subpath is not
// forwarded.
func checkNotForwarded(t *testing.T, st *chatStack, front string) {
	for _, path := range []string{"/v1/sessions", "/healthz", "/metrics", "/v1/keys/signing.pem", "/.well-known/jwks.json"} {
		direct, body := fetch(t, http.MethodGet, st.serve.URL+path, "", nil)
		if direct == http.StatusNotFound {
			t.Fatalf("serve itself has no %s (%s): this check proves nothing", path, body)
		}
		if status, body := fetch(t, http.MethodGet, front+path, "", nil); status != http.StatusNotFound {
			t.Errorf("GET %s through the front: %d, want 404\n%s", path, status, body)
		}
	}
	// A correctly signed session request: serve grants it, the front
	// does not pass it on.
	for base, want := range map[string]int{st.serve.URL: http.StatusOK, front: http.StatusNotFound} {
		body := fmt.Sprintf(`{"login":"alice","nonce":%q}`, randomHex(t, 12))
		now := time.Now()
		status, token := signedSession(t, base, fmt.Sprint(now.Unix()), session.Sign([]byte(st.sessionKey), now, []byte(body)), body)
		if status != want || (token != "") != (want == http.StatusOK) {
			t.Errorf("signed session request to %s: %d (token %v), want %d", base, status, token != "", want)
		}
	}
	// What checkNotStepped looks for in an answer, as serve gives it.
	for path, mark := range map[string]string{"/v1/sessions": "method-not-allowed", "/metrics": "# TYPE "} {
		if _, body := fetch(t, http.MethodGet, st.serve.URL+path, "", nil); !strings.Contains(body, mark) {
			t.Fatalf("serve's GET %s has no %q: checkNotStepped proves nothing\n%s", path, mark, body)
		}
	}
	for _, target := range steppingTargets {
		checkNotStepped(t, st, front, target)
	}
	// A subpath of a chat path: serve would forward it, the front does not.
	for _, path := range []string{"/xmpp-websocket/x", "/http-bind/x"} {
		for base, want := range map[string]int{st.serve.URL: http.StatusNoContent, front: http.StatusNotFound} {
			probe := randomHex(t, 8)
			status, _ := rawRequest(t, base, http.MethodGet, path, map[string]string{probeHeader: probe}, "")
			if _, arrived := st.upstream.forwardedProto(probe); status != want || arrived != (want == http.StatusNoContent) {
				t.Errorf("GET %s%s: %d, reached the chat server: %v; want %d", base, path, status, arrived, want)
			}
		}
	}
}

// steppingTargets are request targets that step between a chat path and
// serve's own paths with dot segments, encoded slashes and dots, or a
// path parameter.
var steppingTargets = []string{
	"/v1/sessions%2F..%2F..%2Fhttp-bind",
	"/xmpp-websocket/../v1/sessions",
	"/http-bind/../metrics",
	"/%2e%2e/v1/sessions",
	"/xmpp-websocket%2F..%2Fv1%2Fsessions",
	"/http-bind/..%2Fv1/sessions",
	"/http-bind/%2e%2e/metrics",
	"/http-bind/..;/v1/sessions",
}

// checkNotStepped sends target, as sent, through the front: as a
// correctly signed session request, which must get no token, and as a
// GET, which must get neither serve's session API (its answer to a GET
// is method-not-allowed) nor its metrics. Whatever else the front does
// with it (404, 400, the chat server once the path is cleaned) is logged.
func checkNotStepped(t *testing.T, st *chatStack, front, target string) {
	t.Helper()
	body := fmt.Sprintf(`{"login":"alice","nonce":%q}`, randomHex(t, 12))
	now := time.Now()
	status, answer := rawRequest(t, front, http.MethodPost, target, map[string]string{
		session.HeaderTimestamp: fmt.Sprint(now.Unix()),
		session.HeaderSignature: session.Sign([]byte(st.sessionKey), now, []byte(body)),
	}, body)
	var reply struct{ Token string }
	_ = json.Unmarshal([]byte(answer), &reply) // most answers are not JSON
	if reply.Token != "" {
		t.Errorf("POST %s through the front reached serve's session API: %d, a token", target, status)
	}
	getStatus, page := rawRequest(t, front, http.MethodGet, target, nil, "")
	if strings.Contains(page, "method-not-allowed") || strings.Contains(page, "# TYPE ") {
		t.Errorf("GET %s through the front reached serve's API or metrics: %d\n%s", target, getStatus, page)
	}
	t.Logf("%s through the front: POST %d, GET %d", target, status, getStatus)
}

// rawRequest sends method and target to base's host as they are, byte
// for byte (no client cleans the path), and returns the answer's status
// and body; it follows no redirect.
func rawRequest(t *testing.T, base, method, target string, headers map[string]string, body string) (int, string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n", method, target, addr, len(body))
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n" + body)
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// fetch sends one request and returns the answer's status and body.
func fetch(t *testing.T, method, url, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// credentials fetches the credentials endpoint through the front, as
// Converse does, and returns the token it hands out as the password.
func credentials(t *testing.T, front string) string {
	t.Helper()
	status, body := fetch(t, http.MethodGet, front+"/livechat-credentials.php", "", nil)
	var c struct{ JID, Password string }
	if err := json.Unmarshal([]byte(body), &c); err != nil || status != http.StatusOK || c.Password == "" {
		t.Fatalf("credentials endpoint through the front: %d %s (%v)", status, body, err)
	}
	return c.Password
}

var boshSID = regexp.MustCompile(`\bsid=['"]([^'"]+)['"]`)

// boshSignIn opens a BOSH session for host at url and authenticates as
// user with SASL PLAIN, as Converse does over BOSH. It reports whether the
// chat server accepted, with the answers received.
func boshSignIn(t *testing.T, url, host, user, password string) (bool, string) {
	t.Helper()
	rid := time.Now().UnixNano() % 1_000_000_000
	xml := map[string]string{"Content-Type": "text/xml; charset=utf-8"}
	open := fmt.Sprintf(`<body content='text/xml; charset=utf-8' hold='1' rid='%d' to='%s' ver='1.6' wait='10' xml:lang='en' xmpp:version='1.0' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>`, rid, host)
	status, created := fetch(t, http.MethodPost, url, open, xml)
	m := boshSID.FindStringSubmatch(created)
	if status != http.StatusOK || m == nil || !strings.Contains(created, "http://jabber.org/protocol/httpbind") {
		t.Fatalf("BOSH session through %s: %d %s", url, status, created)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	auth := fmt.Sprintf(`<body rid='%d' sid='%s' xmlns='http://jabber.org/protocol/httpbind'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth></body>`, rid+1, m[1], plain)
	status, answer := fetch(t, http.MethodPost, url, auth, xml)
	out := created + "\n" + answer
	switch {
	case status == http.StatusOK && strings.Contains(answer, "<success"):
		return true, out
	case status == http.StatusOK && strings.Contains(answer, "<failure"):
		return false, out
	}
	t.Fatalf("BOSH authentication through %s: %d\n%s", url, status, out)
	return false, ""
}

// checkWidget opens the widget page through the front in headless
// Chromium: alice signs in over the front's WebSocket path and sends bob
// a message, which bob, signed in directly, receives.
func checkWidget(t *testing.T, st *chatStack, front, name string) {
	bob := "bob@" + st.host
	received := receiveOne(t, bob, "bob-pw-12", st.c2sPort, "alice@"+st.host)
	message := fmt.Sprintf("Hello through %s, %d", name, time.Now().UnixNano())
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot := mustAbs(t, "artifacts/widget-"+name+".png")
	out, err := exec.Command("node", "browser/widget.mjs", front+"/index.html?chat="+bob, bob, message, shot).CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("widget through %s: %v", name, err)
	}
	select {
	case body, ok := <-received:
		if !ok || body != message {
			t.Fatalf("bob received %q (open %v), want %q", body, ok, message)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bob received nothing")
	}
	if len(logLines(t, st.logPath, "accepted", "user=alice")) == 0 {
		t.Error("livechat-auth logged no accepted sign-in for alice")
	}
}

// receiveOne signs jid in with a real client (testdata/xmpp_receive.py)
// and returns a channel that gets the first message body from sender; it
// is closed when the client ends without one.
func receiveOne(t *testing.T, jid, password string, port int, sender string) <-chan string {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "testdata/xmpp_receive.py", jid, "127.0.0.1", fmt.Sprint(port), sender, "90")
	cmd.Stdin = strings.NewReader(password)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // already exited is fine
		_ = cmd.Wait()         // its exit status says nothing more than the channel
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("%s did not sign in: %q", jid, lines.Text())
	}
	got := make(chan string, 1)
	go func() {
		defer close(got)
		for lines.Scan() {
			if body, ok := strings.CutPrefix(lines.Text(), "BODY: "); ok {
				got <- body
				return
			}
		}
	}()
	return got
}

// randomHex returns n random bytes in hex.
func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
