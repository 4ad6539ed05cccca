package test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livechat-auth/xmpp/extauth"
)

// extauthProcess is "livechat-auth extauth" run as ejabberd runs it:
// framed requests on its stdin, replies on its stdout.
type extauthProcess struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	logPath string
}

// startExtauth starts the binary with only the given LIVECHAT_AUTH_*
// environment (no config file) and a log file.
func startExtauth(t testing.TB, env ...string) *extauthProcess {
	t.Helper()
	return startExtauthProgram(t, binPath, env...)
}

// startExtauthProgram starts program with the argument "extauth".
func startExtauthProgram(t testing.TB, program string, env ...string) *extauthProcess {
	t.Helper()
	return startExtauthArgv(t, []string{program, "extauth"}, env...)
}

// startExtauthArgv starts the extauth program argv with a log file.
func startExtauthArgv(t testing.TB, argv []string, env ...string) *extauthProcess {
	t.Helper()
	p := &extauthProcess{logPath: filepath.Join(t.TempDir(), "extauth.log")}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LIVECHAT_AUTH_LOG_FILE=" + p.logPath, "LIVECHAT_AUTH_LOG_LEVEL=debug",
		"RUNTIME_DIRECTORY=" + privateRun(t)}, env...) // env may name another folder
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdout = bufio.NewReader(out)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill() // a hung process is the failure reported below
			t.Errorf("extauth did not exit after stdin closed")
		}
	})
	return p
}

// ask sends one request and reads its reply.
func (p *extauthProcess) ask(t testing.TB, req extauth.Request) bool {
	t.Helper()
	b, err := extauth.AppendRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	return p.askRaw(t, b)
}

func (p *extauthProcess) askRaw(t testing.TB, frame []byte) bool {
	t.Helper()
	if _, err := p.stdin.Write(frame); err != nil {
		t.Fatalf("write request: %v", err)
	}
	yes, err := extauth.ReadReply(p.stdout)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return yes
}

// finish closes stdin and checks the process exits 0 having written
// nothing more.
func (p *extauthProcess) finish(t testing.TB) {
	t.Helper()
	p.stdin.Close()
	rest, _ := io.ReadAll(p.stdout)
	if len(rest) > 0 {
		t.Errorf("extra bytes on stdout: %q", rest)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

func (p *extauthProcess) log(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestExtauthBinary(t *testing.T) {
	w := newWiki(t)
	p := startExtauth(t, "LIVECHAT_AUTH_WIKI_DSN="+w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test,support.test")
	tests := []struct {
		name string
		req  extauth.Request
		want bool
	}{
		{"auth", extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}, true},
		{"second domain", extauth.Request{Command: "auth", User: "alice", Server: "support.test", Password: "alice-pw-1"}, true},
		{"foreign domain", extauth.Request{Command: "auth", User: "alice", Server: "evil.test", Password: "alice-pw-1"}, false},
		{"password with colons and Unicode", extauth.Request{Command: "auth", User: "victor", Server: "chat.test", Password: "pa:ss wörd €:"}, true},
		{"empty password", extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: ""}, false},
		{"SQL metacharacters in the name", extauth.Request{Command: "auth", User: "x'or'1'='1", Server: "chat.test", Password: "x"}, false},
		{"isuser", extauth.Request{Command: "isuser", User: "alice", Server: "chat.test"}, true},
		{"isuser suspended", extauth.Request{Command: "isuser", User: "nina", Server: "chat.test"}, true},
		{"isuser unmigrated", extauth.Request{Command: "isuser", User: "rupert", Server: "chat.test"}, false},
		{"isuser unknown", extauth.Request{Command: "isuser", User: "nobody", Server: "chat.test"}, false},
		{"setpass", extauth.Request{Command: "setpass", User: "alice", Server: "chat.test", Password: "new"}, false},
		{"tryregister", extauth.Request{Command: "tryregister", User: "newbie", Server: "chat.test", Password: "pw"}, false},
		{"removeuser", extauth.Request{Command: "removeuser", User: "alice", Server: "chat.test"}, false},
		{"removeuser3", extauth.Request{Command: "removeuser3", User: "alice", Server: "chat.test", Password: "alice-pw-1"}, false},
	}
	for _, tt := range tests {
		if got := p.ask(t, tt.req); got != tt.want {
			t.Errorf("%s: reply %v, want %v", tt.name, got, tt.want)
		}
	}
	for name, frame := range map[string][]byte{
		"empty frame":     {0, 0},
		"unknown command": append([]byte{0, 5}, "hello"...),
		"invalid UTF-8":   append([]byte{0, 24}, "auth:alice:chat.test:\xff\xfe\xfd"...),
	} {
		if p.askRaw(t, frame) {
			t.Errorf("%s answered yes", name)
		}
	}
	if !p.ask(t, tests[0].req) {
		t.Error("no longer answering after garbage")
	}
	// Five typos are tolerated; the sixth failure in a minute locks the
	// account against guesses, but not against its owner: a password
	// proven recently (carol's, in the cache) still signs in, while one
	// never proven (dave's) is refused like any guess until the lock
	// lifts; other accounts still work.
	carol := extauth.Request{Command: "auth", User: "carol", Server: "chat.test", Password: "typo"}
	for i := 0; i < 5; i++ {
		if p.ask(t, carol) {
			t.Errorf("typo %d accepted", i+1)
		}
	}
	carol.Password = "carol-pw-2a"
	if !p.ask(t, carol) {
		t.Error("right password refused after five typos")
	}
	carol.Password = "typo"
	if p.ask(t, carol) {
		t.Error("typo 6 accepted")
	}
	carol.Password = "carol-pw-2a"
	if !p.ask(t, carol) {
		t.Error("the owner's proven password refused while the account is locked")
	}
	dave := extauth.Request{Command: "auth", User: "dave", Server: "chat.test", Password: "typo"}
	for i := 0; i < 6; i++ {
		if p.ask(t, dave) {
			t.Errorf("dave's typo %d accepted", i+1)
		}
	}
	dave.Password = "dave-pw-2b"
	if p.ask(t, dave) {
		t.Error("an unproven password accepted after six failures in a minute")
	}
	if !p.ask(t, tests[0].req) {
		t.Error("another account was blocked too")
	}
	p.finish(t)

	log := p.log(t)
	for _, want := range []string{"reason=bad-domain", "reason=read-only", "malformed request", "reason=bad-username", "reason=bad-input", "reason=rate-limited"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, secret := range []string{"alice-pw-1", "pa:ss", w.ReaderDSN} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds a secret (%.6s…)", secret)
		}
	}
}

// TestExtauthDatabaseOutage: the process starts while the database is
// down, answers "no" fast (well inside ejabberd's 30 s) while it stays
// down, and signs users in again by itself once it returns, also after
// an outage in the middle of its life.
func TestExtauthDatabaseOutage(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	proxy.Stop()
	p := startExtauth(t, "LIVECHAT_AUTH_WIKI_DSN="+proxy.DSN(t, w.ReaderDSN), "LIVECHAT_AUTH_DOMAINS=chat.test",
		"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT=1s", "LIVECHAT_AUTH_EXTAUTH_REQUEST_TIMEOUT=3s",
		"LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0") // or a row read just before the outage answers for its bound
	alice := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}

	askWithin := func(limit time.Duration) bool {
		t.Helper()
		start := time.Now()
		yes := p.ask(t, alice)
		if d := time.Since(start); d > limit {
			t.Errorf("answer took %s, over %s", d, limit)
		}
		return yes
	}
	if askWithin(10 * time.Second) {
		t.Fatal("signed in with the database down at start")
	}
	proxy.Start(t)
	if !eventually(t, 10*time.Second, func() bool { return askWithin(10 * time.Second) }) {
		t.Fatal("no sign-in after the database came back")
	}
	proxy.Stop()
	for i := 0; i < 3; i++ {
		if askWithin(10 * time.Second) {
			t.Fatal("signed in while the database is down")
		}
	}
	proxy.Start(t)
	if !eventually(t, 10*time.Second, func() bool { return askWithin(10 * time.Second) }) {
		t.Fatal("no sign-in after the second outage")
	}
	// A database that hangs instead of refusing: each answer still comes
	// within the request budget (3s here), never near ejabberd's 30 s.
	proxy.Hang(t)
	for i := 0; i < 2; i++ {
		if askWithin(5 * time.Second) {
			t.Fatal("signed in while the database hangs")
		}
	}
	proxy.Start(t)
	if !eventually(t, 10*time.Second, func() bool { return askWithin(10 * time.Second) }) {
		t.Fatal("no sign-in after the database stopped hanging")
	}
	p.finish(t)
	if log := p.log(t); !strings.Contains(log, "reason=db-unavailable") || !strings.Contains(log, "[WARN]") {
		t.Errorf("outage not logged as a warning with reason=db-unavailable:\n%s", log)
	}
}

// eventually polls f until it is true or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
