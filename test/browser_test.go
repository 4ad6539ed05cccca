package test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowserWidget is the widget end to end: a wiki page (the PHP
// example, run by php -S) embeds Converse.js; headless Chromium opens it;
// Converse fetches credentials from the PHP endpoint, which asks
// livechat-auth's session API for a token; Converse signs in with it over
// a WebSocket proxied by livechat-auth serve to a real ejabberd, whose
// extauth is livechat-auth; the user sends a message that a second,
// independent client receives. The screenshot lands in test/artifacts/.
func TestBrowserWidget(t *testing.T) {
	need(t, "chromium", have("/usr/bin/chromium"), "apt-get install chromium")
	need(t, "node", have("node"), "install Node.js")
	need(t, "php", have("php"), "apt-get install php-cli")
	converse, _ := filepath.Abs("browser/node_modules/converse.js/dist")
	_, err := os.Stat(filepath.Join(converse, "converse.min.js"))
	need(t, "Converse.js and playwright-core", err == nil, "cd test/browser && npm ci")

	w := newWiki(t)
	const host = "chat.test"
	sessionKey := "the wiki and livechat-auth share this key"
	signing := keygen(t, "EdDSA")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberd(t, host, binPath+" extauth --config "+cfgPath)
	appendConfig(t, cfgPath, fmt.Sprintf(`token:
  signing_key_file: %q
session:
  key: %q
proxy:
  websocket_path: /xmpp-websocket
  websocket_upstream: ws://127.0.0.1:%d/ws
`, signing, sessionKey, ej.HTTPPort))
	serve := startServe(t, cfgPath)

	// The wiki's page and PHP, and the chat WebSocket, on one origin.
	front := startWikiPage(t, "livechat-widget.html", serve.URL, sessionKey, converse, "alice")

	// bob, a second client, waits for alice's message.
	bob := exec.Command("/usr/bin/python3", "testdata/xmpp_receive.py", "bob@"+host, "127.0.0.1", fmt.Sprint(ej.C2SPort), "alice@"+host, "90")
	bob.Stdin = strings.NewReader("bob-pw-12")
	bobOut, err := bob.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bob.Stderr = os.Stderr
	if err := bob.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bob.Process.Kill() }) // already exited is fine
	lines := bufio.NewScanner(bobOut)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("bob did not sign in: %q", lines.Text())
	}

	message := fmt.Sprintf("Hello from the wiki page, %d", time.Now().UnixNano())
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs("artifacts/widget.png")
	node := exec.Command("node", "browser/widget.mjs", front+"/index.html?chat=bob@"+host, "bob@"+host, message, shot)
	out, err := node.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("widget: %v", err)
	}
	// The widget shows the wiki's display name (alice's realName).
	if !strings.Contains(grepLines(string(out), "PROFILE:"), "Alice Liddell") {
		t.Errorf("the widget does not show the wiki display name: %s", grepLines(string(out), "PROFILE:"))
	}
	got := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if body, ok := strings.CutPrefix(lines.Text(), "BODY: "); ok {
				got <- body
				return
			}
		}
		close(got)
	}()
	select {
	case body := <-got:
		if body != message {
			t.Fatalf("bob received %q, want %q", body, message)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bob received nothing")
	}
	if len(logLines(t, logPath, "accepted", "user=alice")) == 0 {
		t.Error("livechat-auth logged no accepted sign-in for alice")
	}
	if data, _ := os.ReadFile(logPath); bytes.Contains(data, []byte("eyJ")) {
		t.Error("the log holds a token")
	}
}

func mustAbs(t testing.TB, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// appendConfig adds YAML to a config file.
func appendConfig(t testing.TB, path, yaml string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, yaml); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// startProcess starts cmd, waits for port, and stops it when the test ends.
func startProcess(t testing.TB, cmd *exec.Cmd, port int, what string) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reported through exited
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // already exited is fine
		<-exited
	})
	waitPort(t, port, exited, 10*time.Second, what)
}

// startFront starts a reverse proxy routing path prefixes to upstreams, as
// the wiki's web server would, and returns its URL.
func startFront(t testing.TB, routes map[string]string) string {
	t.Helper()
	mux := http.NewServeMux()
	for prefix, upstream := range routes {
		target, err := url.Parse(upstream)
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle(prefix, &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		}})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Close below
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
