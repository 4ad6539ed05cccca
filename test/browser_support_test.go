package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBrowserSupportWidget is the floating support chat end to end: a
// support page (examples/tiki/livechat-support.html, run by php -S behind
// a front proxy) shows a "Live support" button; until it is clicked,
// Converse.js is not loaded and nobody signs in. The click loads it in
// overlayed view; it signs alice in with a token from the PHP credentials
// endpoint (livechat-auth serve's session API, ejabberd's extauth) and
// joins the support room under her wiki display name. bob, an agent
// already in the room (python3-slixmpp), receives her message under that
// name and answers; the browser shows the answer. Minimized, the room
// comes back with the next click, on the same connection. The screenshot
// lands in test/artifacts/support-widget.png.
func TestBrowserSupportWidget(t *testing.T) {
	needBrowser(t)
	need(t, "php", have("php"), "apt-get install php-cli")
	need(t, "python3-slixmpp", exec.Command("/usr/bin/python3", "-c", "import logging; logging.basicConfig(level=logging.CRITICAL); import slixmpp").Run() == nil, "apt-get install python3-slixmpp")
	converse := mustAbs(t, "browser/node_modules/converse.js/dist")
	_, err := os.Stat(filepath.Join(converse, "converse.min.js"))
	need(t, "Converse.js", err == nil, "cd test/browser && npm ci")

	w := newWiki(t)
	const host = "chat.test"
	const room = "support@conference." + host // the page's default: support@conference.<chat domain>
	sessionKey := "the wiki and livechat-auth share this key"
	signing := keygen(t, "EdDSA")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
	appendConfig(t, cfgPath, fmt.Sprintf(`token:
  signing_key_file: %q
session:
  key: %q
  migration_url: https://wiki.test/tiki-livechat_migration.php
proxy:
  websocket_path: /xmpp-websocket
  websocket_upstream: ws://127.0.0.1:%d/ws
`, signing, sessionKey, ej.HTTPPort))
	serve := startServe(t, cfgPath)
	front := startWikiPage(t, "livechat-support.html", serve.URL, sessionKey, converse, "alice")

	// bob, the support agent, makes the room (persistent, open) and waits
	// in it for a question.
	message := fmt.Sprintf("Hello support, %d", time.Now().UnixNano())
	answer := "Hello Alice, how can we help?"
	bob := exec.Command("/usr/bin/python3", "testdata/xmpp_room_helper.py", "bob@"+host, "127.0.0.1", fmt.Sprint(ej.C2SPort), room, "Bob Builder", answer, "120")
	bob.Stdin = strings.NewReader("bob-pw-12")
	bob.Stderr = os.Stderr
	bobLines := startLines(t, bob, "room helper")
	if line := nextLine(t, bobLines, "", 30*time.Second); line != "READY" {
		t.Fatalf("bob did not get into %s: %q", room, line)
	}

	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	shot := mustAbs(t, "artifacts/support-widget.png")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "browser/support.mjs", front+"/index.html", room, message, answer, shot)
	click, err := node.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var nodeErr bytes.Buffer
	node.Stderr = &nodeErr
	browser := startLines(t, node, "browser")
	var out []string
	for line := range browser {
		out = append(out, line)
		if line != "LOADED" {
			continue
		}
		// The page is loaded and quiet: no session asked for, no sign-in.
		if got := logLines(t, logPath, "session granted", "login=alice"); len(got) != 0 {
			t.Errorf("a session was granted before the click: %q", got)
		}
		if got := logLines(t, logPath, "accepted", "user=alice"); len(got) != 0 {
			t.Errorf("alice signed in before the click: %q", got)
		}
		if _, err := io.WriteString(click, "click\n"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("browser:\n%s\n%s", strings.Join(out, "\n"), nodeErr.String())
	if err := node.Wait(); err != nil {
		t.Fatalf("support page: %v", err)
	}

	// Before the click: Converse not even loaded.
	var before struct {
		Converse                bool
		WebSockets, Credentials int
	}
	browserReport(t, out, "BEFORE", &before)
	if before.Converse || before.WebSockets != 0 || before.Credentials != 0 {
		t.Errorf("before the click: %+v, want no Converse, no WebSocket, no credentials", before)
	}
	// After both clicks: the profile, then one token, and one WebSocket
	// on the page's origin.
	var after struct{ WebSockets, Credentials []string }
	browserReport(t, out, "AFTER", &after)
	if !slices.Equal(after.WebSockets, []string{"/xmpp-websocket"}) || !slices.Equal(after.Credentials, []string{"?profile", "(none)"}) {
		t.Errorf("after the clicks: %+v, want one WebSocket, the profile, then one token", after)
	}
	// Nothing of the chat outlives the tab: a shared computer keeps no
	// contacts or messages once the browser is closed. Converse keeps the
	// last JID in localStorage (a logout removes it), nothing else.
	var stored struct{ LocalStorage, IndexedDB []string }
	browserReport(t, out, "STORED", &stored)
	stored.LocalStorage = slices.DeleteFunc(stored.LocalStorage, func(k string) bool { return k == "conversejs-session-jid" })
	if len(stored.LocalStorage) != 0 || len(stored.IndexedDB) != 0 {
		t.Errorf("the chat left %+v beyond the tab's session storage", stored)
	}
	// Minimized, the room comes back with the second click.
	var reopen struct{ Minimized, Shown bool }
	browserReport(t, out, "REOPEN", &reopen)
	if !reopen.Minimized || !reopen.Shown {
		t.Errorf("minimize, then click again: %+v, want minimized, then shown", reopen)
	}
	var view string
	browserReport(t, out, "VIEW", &view)
	if !strings.Contains(view, "converse-overlayed") {
		t.Errorf("Converse's view is %q, want overlayed", view)
	}
	// The room shows alice under her wiki display name, beside bob.
	var occupants []string
	browserReport(t, out, "OCCUPANTS", &occupants)
	slices.Sort(occupants)
	if !slices.Equal(occupants, []string{"Alice Liddell", "Bob Builder"}) {
		t.Errorf("occupants shown: %q, want Alice Liddell and Bob Builder", occupants)
	}
	var sent, got struct{ Author, Text string }
	browserReport(t, out, "SENT", &sent)
	if sent.Author != "Alice Liddell" {
		t.Errorf("alice's message shows author %q", sent.Author)
	}
	browserReport(t, out, "ANSWER", &got)
	if got.Author != "Bob Builder" || got.Text != answer {
		t.Errorf("the answer shown: %+v", got)
	}

	// bob saw alice come in under her display name, with her JID, and
	// received her message from that nickname.
	for _, want := range []string{"JOINED: Alice Liddell alice@" + host, "BODY: Alice Liddell: " + message, "ANSWERED"} {
		if line := nextLine(t, bobLines, strings.SplitN(want, " ", 2)[0], 10*time.Second); line != want {
			t.Errorf("bob: %q, want %q", line, want)
		}
	}
	if err := bob.Wait(); err != nil {
		t.Errorf("room helper: %v", err)
	}
	if len(logLines(t, logPath, "accepted", "user=alice", "credential=token")) != 1 {
		t.Errorf("livechat-auth logged %d token sign-ins for alice, want 1", len(logLines(t, logPath, "accepted", "user=alice", "credential=token")))
	}
	if data, _ := os.ReadFile(logPath); bytes.Contains(data, []byte("eyJ")) {
		t.Error("the log holds a token")
	}

	// rupert has a wiki account but no chat name yet: the button becomes
	// a link to the migration page, and nothing of the chat loads.
	rupert := startWikiPage(t, "livechat-support.html", serve.URL, sessionKey, converse, "rupert")
	offerOut, err := exec.Command("node", "browser/support_unmigrated.mjs", rupert+"/index.html").CombinedOutput()
	if err != nil {
		t.Fatalf("support page as rupert: %v\n%s", err, offerOut)
	}
	var offer struct {
		Text, Href string
		Converse   bool
		WebSockets int
	}
	browserReport(t, strings.Split(string(offerOut), "\n"), "OFFER", &offer)
	if offer.Href != "https://wiki.test/tiki-livechat_migration.php" || offer.Converse || offer.WebSockets != 0 || !strings.Contains(offer.Text, "chat name") {
		t.Errorf("an unmigrated user's click: %+v, want a link to the migration page and no chat", offer)
	}
}

// startWikiPage serves page (a file of examples/tiki) as the wiki would,
// at /index.html with user logged in: php -S runs the PHP example beside
// Converse's dist/, and a front proxy puts it and the chat WebSocket
// (livechat-auth serve) on one origin. It returns the front's URL; PHP's
// output is logged if the test fails.
func startWikiPage(t *testing.T, page, serveURL, sessionKey, converse, user string) string {
	t.Helper()
	docroot := t.TempDir()
	for name, target := range map[string]string{
		"index.html":               mustAbs(t, "../examples/tiki/"+page),
		"livechat-converse.js":     mustAbs(t, "../examples/tiki/livechat-converse.js"),
		"livechat-credentials.php": mustAbs(t, "../examples/tiki/livechat-credentials.php"),
		"dist":                     converse,
	} {
		if err := os.Symlink(target, filepath.Join(docroot, name)); err != nil {
			t.Fatal(err)
		}
	}
	phpPort := freePort(t)
	php := exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", phpPort), "-t", docroot)
	php.Env = append(os.Environ(), "LIVECHAT_AUTH_URL="+serveURL, "LIVECHAT_AUTH_SESSION_KEY="+sessionKey, "LIVECHAT_DEMO_USER="+user)
	var phpLog bytes.Buffer
	php.Stdout, php.Stderr = &phpLog, &phpLog
	startProcess(t, php, phpPort, "php -S")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("php:\n%s", phpLog.String())
		}
	})
	return startFront(t, map[string]string{"/xmpp-websocket": serveURL, "/": fmt.Sprintf("http://127.0.0.1:%d", phpPort)})
}

// startLines starts cmd and sends each line of its stdout on the returned
// channel, closed when stdout ends. The process is killed when the test
// ends, if it is still running.
func startLines(t *testing.T, cmd *exec.Cmd, what string) <-chan string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // already exited is fine
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	return lines
}

// nextLine returns the next line starting with prefix, skipping others,
// or fails the test when none comes within wait.
func nextLine(t *testing.T, lines <-chan string, prefix string, wait time.Duration) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("output ended with no line starting %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			t.Fatalf("no line starting %q within %s", prefix, wait)
		}
	}
}

// browserReport decodes the JSON of the one "NAME: <json>" line of out into v.
func browserReport(t *testing.T, out []string, name string, v any) {
	t.Helper()
	var found []string
	for _, line := range out {
		if rest, ok := strings.CutPrefix(line, name+": "); ok {
			found = append(found, rest)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s lines from the browser, want 1", len(found), name)
	}
	if err := json.Unmarshal([]byte(found[0]), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
