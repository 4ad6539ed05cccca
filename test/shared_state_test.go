package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"livechat-auth/provider/session"
	"livechat-auth/xmpp/extauth"
)

// TestEjabberdPoolSharesState: with no daemon settings at all, the
// extauth processes of ejabberd's pool share one used-token record and
// one failure limit (through the automatic daemon), with a pool of four
// and with ejabberd's default pool.
func TestEjabberdPoolSharesState(t *testing.T) {
	for _, pool := range []struct {
		name string
		size int
	}{{"pool of 4", 4}, {"default pool", -1}} {
		t.Run(pool.name, func(t *testing.T) {
			s := startPool(t, pool.size)
			s.tokenOnce(t)
			s.failuresAddUp(t, "carol", "carol-pw-2a")
			s.clearLock(t, "carol", "carol-pw-2a")
			s.answeredByDaemon(t)
		})
	}
}

// TestAutoDaemonOutlivesEjabberd: the used-token record lives on across an
// ejabberd restart; a daemon killed mid-run makes tokens refused and
// passwords still work, and a new daemon comes back by itself.
func TestAutoDaemonOutlivesEjabberd(t *testing.T) {
	s := startPool(t, 4)
	used := s.tokenOnce(t)
	before := s.daemon(t)

	s.ej.stop()
	s.ej = startEjabberdWith(t, ejabberdOptions{Host: "chat.test", Extauth: s.ej.extauth, PoolSize: 4, Dir: s.ej.Dir})
	if s.signIn(t, "alice", used) == nil {
		t.Error("a token used before ejabberd restarted signed in again after it")
	}
	if after := s.daemon(t); after != before {
		t.Errorf("the daemon changed across the ejabberd restart: %d, then %d", before, after)
	}

	// Kill the daemon while holding the start lock, so that none comes
	// back until we let go.
	unlock := holdStartLock(t, s.ej.RunDir)
	if err := syscall.Kill(before, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(daemonPIDs(t, s.ej.RunDir)) == 0 }) {
		t.Fatal("the killed daemon still holds its pid file")
	}
	fresh := mintToken(t, s.cfgPath, "alice")
	if s.signIn(t, "alice", fresh) == nil {
		t.Error("a token signed in while no daemon keeps the used-token record")
	}
	if lines := logLines(t, s.logPath, "user=alice", "reason="+extauth.ReasonTokenUnshared); len(lines) == 0 {
		t.Error("no refusal logged with reason=token-unshared")
	}
	if err := s.signIn(t, "dave", "dave-pw-2b"); err != nil {
		t.Errorf("a password was refused while the daemon is down: %v", err)
	}
	unlock()
	if !eventually(t, 30*time.Second, func() bool { return s.signIn(t, "alice", fresh) == nil }) {
		t.Fatal("no daemon came back: the unused token is still refused")
	}
	if !s.replayRefused(t, "alice", fresh) {
		t.Error("after the daemon came back, it did not refuse a replayed token")
	}
	// The new daemon read the killed one's journal: the token used before
	// the kill, still valid, stays used.
	if !s.replayRefused(t, "alice", used) {
		t.Error("the new daemon did not refuse a token used before the kill")
	}
	if again := s.daemon(t); again == before {
		t.Error("the killed daemon's pid answers again")
	}
}

// replayRefused tries a used token until the daemon itself refuses it as
// replayed (a process still pausing before it reconnects refuses it as
// token-unshared first); no try may succeed.
func (p *pool) replayRefused(t *testing.T, user, tok string) bool {
	t.Helper()
	replays := func() int {
		return len(logLines(t, p.logPath, "extauth-daemon", "user="+user, "reason=token-replayed"))
	}
	before := replays()
	return eventually(t, 30*time.Second, func() bool {
		if p.signIn(t, user, tok) == nil {
			t.Errorf("a used token signed in again as %s", user)
		}
		return replays() > before
	})
}

// pool is ejabberd with livechat-auth's default extauth settings.
type pool struct {
	ej               *ejabberd
	cfgPath, logPath string
}

func startPool(t *testing.T, size int) *pool {
	t.Helper()
	w := newWiki(t)
	key := keygen(t, "ES256")
	p := &pool{}
	p.cfgPath, p.logPath = writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\n", key))
	p.ej = startEjabberdWith(t, ejabberdOptions{Host: "chat.test", Extauth: binPath + " extauth --config " + p.cfgPath, PoolSize: size})
	return p
}

func (p *pool) signIn(t *testing.T, user, password string) error {
	t.Helper()
	return goSignIn(context.Background(), fmt.Sprintf("127.0.0.1:%d", p.ej.C2SPort), user+"@chat.test", password)
}

// tokenOnce signs in with a token once, then sees it refused on repeated
// tries, at least two of which reached the daemon through different
// extauth processes. It returns the used token.
func (p *pool) tokenOnce(t *testing.T) string {
	t.Helper()
	tok := mintToken(t, p.cfgPath, "alice")
	if err := p.signIn(t, "alice", tok); err != nil {
		t.Fatalf("the token was refused: %v", err)
	}
	// Concurrent tries: ejabberd picks a process by a node-wide counter
	// modulo the pool size, which one client signing in over and over
	// can keep hitting on the same process.
	const tries = 16
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < tries; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.signIn(t, "alice", tok) == nil {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the same token signed in again %d times out of %d", n, tries)
	}
	replays := logLines(t, p.logPath, "user=alice", "reason=token-replayed")
	if len(replays) != tries {
		t.Errorf("%d replays logged, want %d", len(replays), tries)
	}
	if pids := relayPIDs(replays); len(pids) < 2 {
		t.Errorf("the replays came through %d extauth process(es) %v; want at least 2 of the pool", len(pids), pids)
	}
	return tok
}

// failuresAddUp makes more wrong passwords than auth.max_failures (5)
// through ejabberd and sees the right one refused as rate-limited.
func (p *pool) failuresAddUp(t *testing.T, user, password string) {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.signIn(t, user, "typo") == nil {
				t.Error("a wrong password signed in")
			}
		}()
	}
	wg.Wait()
	if p.signIn(t, user, password) == nil {
		t.Error("six failures spread over the pool did not lock the account")
	}
	limited := logLines(t, p.logPath, "user="+user, "reason=rate-limited")
	if len(limited) != 1 {
		t.Errorf("%d rate-limited refusals logged for %s, want 1", len(limited), user)
	}
	if pids := relayPIDs(logLines(t, p.logPath, "user="+user, "reason=")); len(pids) < 2 {
		t.Errorf("the failures came through %d extauth process(es); want at least 2", len(pids))
	}
}

// clearLock sees the lock in "locks" and "check", clears it with "locks
// clear", and signs in with the right password, with nothing restarted.
func (p *pool) clearLock(t *testing.T, user, password string) {
	t.Helper()
	out, code := p.run(t, "", "locks")
	if code != 0 || !strings.Contains(out, user+": locked after 6 failed sign-ins") {
		t.Fatalf("locks: exit %d, want it to list %s:\n%s", code, user, out)
	}
	_, hint, ok := strings.Cut(strings.TrimSpace(out), "clear with: livechat-auth ")
	if !ok {
		t.Fatalf("locks: no command to clear the lock:\n%s", out)
	}
	out, code = p.run(t, password+"\n", "check", user+"@chat.test")
	if code != 1 || !strings.Contains(out, "refused: rate-limited") || !strings.Contains(out, "lock: "+user+": locked after 6 failed sign-ins, until ") {
		t.Errorf("check: exit %d, want 1, refused: rate-limited and why %s is locked:\n%s", code, user, out)
	}
	// The command the listing gives, as an operator would paste it.
	pasted := exec.Command(binPath, strings.Fields(hint)...)
	pasted.Env = []string{"PATH=/usr/bin:/bin", "RUNTIME_DIRECTORY=" + p.ej.RunDir}
	if b, err := pasted.CombinedOutput(); err != nil || !strings.Contains(string(b), "cleared the failed sign-ins of "+user) {
		t.Fatalf("locks clear as suggested (%s): %v:\n%s", hint, err, b)
	}
	if out, code = p.run(t, "", "locks", "clear", user); code != 1 || !strings.Contains(out, user+" has no failed sign-ins to clear") {
		t.Errorf("a second locks clear: exit %d, want 1:\n%s", code, out)
	}
	if out, code = p.run(t, "", "locks"); code != 0 || out != "no locked accounts\n" {
		t.Errorf("locks after clearing: exit %d:\n%s", code, out)
	}
	if err := p.signIn(t, user, password); err != nil {
		t.Errorf("the right password was refused after the lock was cleared: %v", err)
	}
}

// run runs a livechat-auth subcommand as the operator would, as the same
// user, against the pool's settings; it returns stdout and the exit code.
func (p *pool) run(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	return operatorRun(t, p.cfgPath, p.ej.RunDir, stdin, args...)
}

// operatorRun runs "livechat-auth CMD --config cfgPath ARGS…" with runDir
// as RUNTIME_DIRECTORY and returns stdout and the exit code.
func operatorRun(t *testing.T, cfgPath, runDir, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{args[0], "--config", cfgPath}, args[1:]...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RUNTIME_DIRECTORY=" + runDir}
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", args[0], err)
	}
	if stderr.Len() > 0 {
		t.Logf("%s stderr: %s", args[0], stderr.String())
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// daemon returns the pid of the one automatic daemon of the pool.
func (p *pool) daemon(t *testing.T) int {
	t.Helper()
	pids := daemonPIDs(t, p.ej.RunDir)
	if len(pids) != 1 {
		t.Fatalf("%d daemons run from %s, want 1", len(pids), p.ej.RunDir)
	}
	return pids[0]
}

var relayPID = regexp.MustCompile(`relay_pid=(\d+)`)

// answeredByDaemon checks that the daemon decided every sign-in: each of
// its decisions names the extauth process it came through (relay_pid),
// at least two of the pool's, and no extauth process decided one itself
// (it forwarded each request and wrote the daemon's reply).
func (p *pool) answeredByDaemon(t *testing.T) {
	t.Helper()
	if pids := relayPIDs(logLines(t, p.logPath, "extauth-daemon", "cmd=auth")); len(pids) < 2 {
		t.Errorf("the daemon's decisions came through %d extauth process(es) %v; want at least 2", len(pids), pids)
	}
	if local := logLines(t, p.logPath, "livechat-auth.extauth:", "cmd=auth"); len(local) > 0 {
		t.Errorf("%d sign-ins decided by an extauth process, not the daemon:\n%s", len(local), strings.Join(local, "\n"))
	}
}

// relayPIDs returns the distinct extauth processes named in log lines.
func relayPIDs(lines []string) []string {
	seen := map[string]bool{}
	var pids []string
	for _, l := range lines {
		if m := relayPID.FindStringSubmatch(l); m != nil && !seen[m[1]] {
			seen[m[1]] = true
			pids = append(pids, m[1])
		}
	}
	return pids
}

// holdStartLock takes the lock an extauth process takes to start the
// daemon, so that none can start one; unlock lets go.
func holdStartLock(t *testing.T, runDir string) (unlock func()) {
	t.Helper()
	locks, _ := filepath.Glob(filepath.Join(runDir, "*.lock")) // the pattern is valid
	if len(locks) != 1 {
		t.Fatalf("%d start locks in %s, want 1", len(locks), runDir)
	}
	f, err := os.OpenFile(locks[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var once bool
	unlock = func() {
		if !once {
			once = true
			f.Close()
		}
	}
	t.Cleanup(unlock)
	return unlock
}

// TestAutoDaemonRefusesUnsafeFolder: a private folder that others may
// write, or that another user owns, is refused with one clear ERROR
// line; passwords are then decided by each process and tokens refused.
func TestAutoDaemonRefusesUnsafeFolder(t *testing.T) {
	w := newWiki(t)
	key := keygen(t, "ES256")
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf("token:\n  signing_key_file: %q\n", key))
	cases := []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"world-writable", func(dir string) error { return os.Chmod(dir, 0o777) }, "may be written by group or others"},
	}
	if os.Getuid() == 0 {
		cases = append(cases, struct {
			name  string
			setup func(dir string) error
			want  string
		}{"another user's", func(dir string) error { return os.Chown(dir, 65534, 65534) }, "owned by uid 65534"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := privateRun(t)
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			p := startExtauth(t, "LIVECHAT_AUTH_CONFIG="+cfgPath, "RUNTIME_DIRECTORY="+dir)
			if !p.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}) {
				t.Error("a password was refused")
			}
			if p.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: mintToken(t, cfgPath, "alice")}) {
				t.Error("a token signed in with no shared used-token record")
			}
			p.finish(t)
			log := p.log(t)
			var errors []string
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "[ERROR]") {
					errors = append(errors, l)
				}
			}
			if len(errors) != 1 || !strings.Contains(errors[0], c.want) {
				t.Errorf("want one ERROR line saying %q, got:\n%s", c.want, log)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files made in the unsafe folder: %v", entries)
			}
		})
	}
}

// TestAutoDaemonFollowsConfig: the automatic daemon reloads a changed
// config file by itself, and keeps its record of used tokens across it.
func TestAutoDaemonFollowsConfig(t *testing.T) {
	w := newWiki(t)
	dir := t.TempDir()
	const oldSecret, newSecret = "the old shared secret, 32 bytes long!", "the new shared secret, 32 bytes long!"
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf("token:\n  secret: %q\n  secret_kid: k1\n", oldSecret))
	p := startExtauth(t, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	used, unused := mintToken(t, cfgPath, "alice"), mintToken(t, cfgPath, "alice")
	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: used}
	if !p.ask(t, req) {
		t.Fatal("token refused before the change")
	}
	writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  secret: %q\n  secret_kid: k2\n  previous_secret: %q\n  previous_secret_kid: k1\n", newSecret, oldSecret))
	if !eventually(t, 10*time.Second, func() bool { return strings.Contains(p.log(t), "reloaded settings and keys") }) {
		t.Fatalf("the daemon did not reload the changed config file:\n%s", p.log(t))
	}
	if p.ask(t, req) {
		t.Error("a token used before the reload signed in again after it")
	}
	if !strings.Contains(p.log(t), "reason=token-replayed") {
		t.Error("the second try was not refused as a replay")
	}
	req.Password = unused
	if !p.ask(t, req) {
		t.Error("an unused token under the previous secret was refused")
	}
	req.Password = mintToken(t, cfgPath, "alice")
	if !p.ask(t, req) {
		t.Error("a token under the new secret was refused")
	}
	p.finish(t)
}

// TestAutoDaemonFollowsAnUpgrade: replacing the program file (an
// upgrade: a new file renamed over it, or a symbolic link pointed at a new
// one) stops the running daemon; the extauth process takes its streams
// back and starts a daemon of the new program, and the record of used
// tokens (journaled beside the socket) outlives the change.
func TestAutoDaemonFollowsAnUpgrade(t *testing.T) {
	for _, how := range []string{"rename", "symlink"} {
		t.Run(how, func(t *testing.T) { testUpgrade(t, how) })
	}
}

func testUpgrade(t *testing.T, how string) {
	w := newWiki(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "livechat-auth")
	version := 0
	install := func() {
		data, err := os.ReadFile(binPath)
		if err != nil {
			t.Fatal(err)
		}
		version++
		file := prog + ".new"
		if how == "symlink" {
			file = filepath.Join(dir, fmt.Sprintf("livechat-auth-v%d", version))
		}
		if err := os.WriteFile(file, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if how == "symlink" {
			link := prog + ".link"
			if err := os.Symlink(file, link); err != nil {
				t.Fatal(err)
			}
			file = link
		}
		if err := os.Rename(file, prog); err != nil { // as package managers and deploy tools replace a program
			t.Fatal(err)
		}
	}
	install()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, "token:\n  secret: \"a shared secret of at least 32 bytes\"\n")
	runDir := privateRun(t)
	p := startExtauthProgram(t, prog, "LIVECHAT_AUTH_CONFIG="+cfgPath, "RUNTIME_DIRECTORY="+runDir)
	used := mintToken(t, cfgPath, "alice")
	req := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: used}
	if !p.ask(t, req) {
		t.Fatal("token refused")
	}
	if !p.ask(t, extauth.Request{Command: "isuser", User: "bob", Server: "chat.test"}) {
		t.Fatal("isuser refused")
	}
	before := daemonPIDs(t, runDir)
	if len(before) != 1 {
		t.Fatalf("%d daemons, want 1", len(before))
	}
	install()
	if !eventually(t, 10*time.Second, func() bool { return strings.Contains(p.log(t), "the program file was replaced") }) {
		t.Fatalf("the daemon did not notice the new program:\n%s", p.log(t))
	}
	// The old daemon let the extauth process go between two requests:
	// its next request starts the new program as the daemon, and is
	// asked there.
	bob := extauth.Request{Command: "auth", User: "bob", Server: "chat.test", Password: "bob-pw-12"}
	if !eventually(t, 20*time.Second, func() bool {
		p.ask(t, bob)
		pids := daemonPIDs(t, runDir)
		return len(pids) == 1 && pids[0] != before[0] && len(logLines(t, p.logPath, "extauth-daemon", "cmd=auth", "user=bob")) > 0
	}) {
		t.Fatalf("no new daemon took over (before: %v, now: %v):\n%s", before, daemonPIDs(t, runDir), p.log(t))
	}
	if !p.ask(t, bob) {
		t.Error("the new daemon refused a right password")
	}
	if local := logLines(t, p.logPath, "livechat-auth.extauth:", "cmd=auth"); len(local) > 0 {
		t.Errorf("the extauth process decided alone across the upgrade:\n%s", strings.Join(local, "\n"))
	}
	if p.ask(t, req) {
		t.Error("a token used before the upgrade signed in again after it")
	}
	p.finish(t)
}

// TestSharedStateFlushRefusesReplays: two serve nodes share a Redis of
// their own. Five signed session requests, and the five tokens they
// mint, are each used once; Redis then loses its data (FLUSHALL), and
// every replay, at either node, is refused, even within the second in
// which they were issued, used and lost. Rounds are tried until one fits
// in one second (the case a clock-rounded note would miss); every round
// must refuse all ten, whatever the second. A token issued once that
// second is over is accepted again.
func TestSharedStateFlushRefusesReplays(t *testing.T) {
	port := freePort(t)
	startRedis(t, port, t.TempDir())
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	a, b, _, _, _ := startCluster(t, url)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	nodes := []*serveProcess{a, b}

	sameSecond := false
	for round := 0; round < 3 && !sameSecond; round++ {
		// Start just after a whole second: this machine's clock is Redis's.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 5*time.Millisecond)))
		first := time.Now().Unix()
		type request struct{ ts, sig, body string }
		var requests []request
		var tokens []string
		for i := range 5 {
			body := fmt.Sprintf(`{"login":"alice","nonce":"flush-%d-%d"}`, round, i)
			now := time.Now()
			req := request{fmt.Sprint(now.Unix()), session.Sign(clusterSessionKey, now, []byte(body)), body}
			status, tok := signedSession(t, nodes[i%2].URL, req.ts, req.sig, req.body)
			if status != http.StatusOK || tok == "" {
				t.Fatalf("round %d: session request %d: %d", round, i, status)
			}
			requests, tokens = append(requests, req), append(tokens, tok)
		}
		for i, tok := range tokens {
			if _, body, _ := checkPassword(t, nodes[(i+1)%2].URL, clusterHTTPSecret, "alice", tok); body != "true" {
				t.Fatalf("round %d: token %d, first use: %q", round, i, body)
			}
		}
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		for i, tok := range tokens {
			for _, p := range nodes {
				if _, body, _ := checkPassword(t, p.URL, clusterHTTPSecret, "alice", tok); body != "false" {
					t.Errorf("round %d: token %d, used before the flush, replayed at %s: %q", round, i, p.URL, body)
				}
			}
		}
		for i, req := range requests {
			for _, p := range nodes {
				if code := postSession(t, p.URL, req.ts, req.sig, req.body); code == http.StatusOK {
					t.Errorf("round %d: session request %d, used before the flush, replayed at %s: accepted", round, i, p.URL)
				}
			}
		}
		// The first replay wrote the note of when the record became whole.
		keys, err := rdb.Keys(ctx, "*since").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("round %d: the note after the flush: %v %v", round, keys, err)
		}
		note, err := rdb.Get(ctx, keys[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		_, ms, _ := strings.Cut(note, ":")
		noteMS, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			t.Fatalf("round %d: the note %q", round, note)
		}
		sameSecond = noteMS/1000 == first
		t.Logf("round %d: issued from second %d, the record whole again at %d ms", round, first, noteMS)
		if t.Failed() {
			return
		}
	}
	if !sameSecond {
		t.Error("no round fitted in one second: replays within the second of the loss were not tried")
	}

	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 5*time.Millisecond)))
	tok := sessionToken(t, a, "alice")
	if _, body, _ := checkPassword(t, b.URL, clusterHTTPSecret, "alice", tok); body != "true" {
		t.Errorf("a token issued after the second of the loss: %q", body)
	}
}

// signedSession sends a signed session request with the given header
// values and returns the status and the token granted, if any.
func signedSession(t testing.TB, serveURL, ts, sig, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, serveURL+"/v1/sessions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(session.HeaderTimestamp, ts)
	req.Header.Set(session.HeaderSignature, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out) // a refusal has no token
	return resp.StatusCode, out.Token
}
