package test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"livechat-auth/provider/session"
	"livechat-auth/test/harness"
	"livechat-auth/xmpp/extauth"
)

// redisServer is a redis-server started for a test, on its own port and
// without persistence, so that stopping it loses its data as a restart
// of an unpersisted Redis does.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T, port int, dir string) *redisServer {
	t.Helper()
	_, err := exec.LookPath("redis-server")
	need(t, "redis-server", err == nil, "apt-get install redis-server (scripts/setup.sh does)")
	return startRedisCommand(t, port, dir, exec.Command("redis-server", redisArgs(port, dir)...))
}

// startValkey starts Debian 13's valkey-server (Valkey 8, which
// distributions now ship where Redis was) in a container of the Debian 13
// stack's image, on this machine's loopback as startRedis does.
func startValkey(t *testing.T, port int, dir string) *redisServer {
	t.Helper()
	debian13 := harness.Stack{Name: harness.Debian13, Image: harness.Debian13Image}
	debian13.Need(t, "valkey-server", "apt-get install valkey-server")
	return startRedisCommand(t, port, dir, debian13.Command(t, nil, "valkey-server", redisArgs(port, dir)...))
}

// redisArgs are the arguments of a Redis or Valkey on port, keeping
// nothing on disk.
func redisArgs(port int, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
}

func startRedisCommand(t *testing.T, port int, dir string, cmd *exec.Cmd) *redisServer {
	t.Helper()
	r := &redisServer{port: port, dir: dir, done: make(chan struct{}), cmd: cmd}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }() // reported through done
	t.Cleanup(r.stop)
	waitPort(t, port, r.done, 10*time.Second, "redis-server")
	return r
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL) // gone already is fine
	harness.Remove(r.cmd)                     // Valkey's container
	<-r.done
}

// machineRedis is the Redis of this machine, which scripts/setup.sh starts.
func machineRedis(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
	need(t, "Redis on 127.0.0.1:6379", err == nil, "scripts/setup.sh starts redis-server")
	if err == nil {
		c.Close()
	}
}

// startCluster starts two serve processes that share the Redis at url
// under one key prefix, with the HTTP contract, the session API and
// tokens on, and a limit of 3 failures a minute.
func startCluster(t *testing.T, url string) (a, b *serveProcess, logA, logB, cfgA string) {
	t.Helper()
	w := newWiki(t)
	prefix := randomName("cluster-") + ":"
	forgetPrefix(t, url, prefix)
	start := func() (*serveProcess, string) {
		cfg, log := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf(
			"httpauth:\n  secret: %q\ntoken:\n  secret: %q\nsession:\n  key: %q\nauth:\n  max_failures: 3\nstate:\n  redis_url: %q\n  key_prefix: %q\n",
			clusterHTTPSecret, "the token secret every node shares, 32+ bytes", string(clusterSessionKey), url, prefix))
		port := freePort(t)
		if cfgA == "" {
			cfgA = cfg
		}
		return startServeOn(t, cfg, port, fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE=0"), log
	}
	a, logA = start()
	b, logB = start()
	return a, b, logA, logB, cfgA
}

const clusterHTTPSecret = "the chat server's secret, 16+ bytes"

var clusterSessionKey = []byte("the wiki and every node share this key")

// sessionToken asks node p's session API for a token of login.
func sessionToken(t *testing.T, p *serveProcess, login string) string {
	t.Helper()
	status, resp := requestSession(t, p.URL, clusterSessionKey, `{"login":"`+login+`"}`)
	tok, _ := resp["token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("session at %s: %d %v", p.URL, status, resp)
	}
	return tok
}

// TestClusterSharesState: two serve processes share this machine's Redis,
// then Debian 13's Valkey. A token used through one is refused through the
// other, a signed session request used at one is refused at the other, and
// failures made through both add up to one lock that either can see and
// clear.
func TestClusterSharesState(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		machineRedis(t)
		clusterSharesState(t, "redis://127.0.0.1:6379/0")
	})
	t.Run("valkey", func(t *testing.T) {
		port := freePort(t)
		startValkey(t, port, t.TempDir())
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		clusterSharesState(t, url)
		// It was Valkey that answered.
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		info, err := rdb.Info(context.Background(), "server").Result()
		if err != nil || !strings.Contains(info, "valkey_version:8.") {
			t.Errorf("the server on %d is not Valkey 8: %v\n%s", port, err, grepLines(info, "version"))
		}
	})
}

func clusterSharesState(t *testing.T, url string) {
	a, b, _, _, cfgA := startCluster(t, url)
	for _, p := range []*serveProcess{a, b} {
		if code, body := get(t, p.URL+"/readyz"); code != 200 || body != "ready\n" {
			t.Fatalf("readyz at %s: %d %q", p.URL, code, body)
		}
	}

	tok := sessionToken(t, a, "alice")
	if _, body, _ := checkPassword(t, b.URL, clusterHTTPSecret, "alice", tok); body != "true" {
		t.Fatalf("the token, first use at b: %q", body)
	}
	if _, body, _ := checkPassword(t, a.URL, clusterHTTPSecret, "alice", tok); body != "false" {
		t.Errorf("the token used at b was accepted again at a: %q", body)
	}
	if _, body, _ := checkPassword(t, b.URL, clusterHTTPSecret, "alice", tok); body != "false" {
		t.Errorf("the token used at b was accepted again at b: %q", body)
	}

	// One signed session request, captured and sent to the other node.
	body := `{"login":"alice","nonce":"captured"}`
	now := time.Now()
	ts, sig := fmt.Sprint(now.Unix()), session.Sign(clusterSessionKey, now, []byte(body))
	if code := postSession(t, a.URL, ts, sig, body); code != http.StatusOK {
		t.Fatalf("session request at a: %d", code)
	}
	if code := postSession(t, b.URL, ts, sig, body); code != http.StatusUnauthorized {
		t.Errorf("the same signed request at b: %d; want 401 replayed", code)
	}

	// 2 failures at each node: 4 > 3, so the right password is refused
	// at both (each alone saw only 2).
	for _, p := range []*serveProcess{a, b, a, b} {
		if _, body, _ := checkPassword(t, p.URL, clusterHTTPSecret, "bob", "not bob's password"); body != "false" {
			t.Fatalf("a wrong password was accepted: %q", body)
		}
	}
	for _, p := range []*serveProcess{a, b} {
		if _, body, _ := checkPassword(t, p.URL, clusterHTTPSecret, "bob", "bob-pw-12"); body != "false" {
			t.Errorf("bob's password was accepted at %s after 4 failures spread over two nodes with a limit of 3", p.URL)
		}
	}
	// No daemon on these nodes: locks asks the shared Redis itself.
	locksRun := func(args ...string) (string, error) {
		cmd := exec.Command(binPath, append([]string{"locks", "--config", cfgA}, args...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := locksRun(); err != nil || !strings.Contains(out, "bob") {
		t.Errorf("locks: %v\n%s", err, out)
	}
	if out, err := locksRun("clear", "bob"); err != nil || !strings.Contains(out, "cleared the failed sign-ins of bob") {
		t.Errorf("locks clear bob: %v\n%s", err, out)
	}
	for _, p := range []*serveProcess{a, b} {
		if _, body, _ := checkPassword(t, p.URL, clusterHTTPSecret, "bob", "bob-pw-12"); body != "true" {
			t.Errorf("bob's password at %s after the lock was cleared through Redis: %q", p.URL, body)
		}
	}
	_, metrics := get(t, a.URL+"/metrics")
	if !strings.Contains(metrics, `livechat_auth_decisions_total{cmd="check_password",edge="httpauth",result="rate-limited"}`) {
		t.Errorf("no rate-limited decision counted at a:\n%s", grepLines(metrics, "check_password"))
	}
	if !strings.Contains(metrics, "livechat_auth_shared_state_up 1") {
		t.Errorf("shared_state_up is not 1:\n%s", grepLines(metrics, "shared_state"))
	}
}

// TestClusterRedisOutage: the shared Redis is killed while two nodes run.
// Both say degraded, refuse tokens and session requests (the log says
// why), still sign in passwords under a per-process limit, and recover by
// themselves when Redis is back; a token issued before Redis lost its
// data is refused, one issued after is shared again.
func TestClusterRedisOutage(t *testing.T) {
	port := freePort(t)
	redis := startRedis(t, port, t.TempDir())
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	a, b, logA, _, _ := startCluster(t, url)
	early := sessionToken(t, a, "alice") // issued before the outage, unused
	before := sessionToken(t, b, "carol")
	if _, body, _ := checkPassword(t, a.URL, clusterHTTPSecret, "carol", before); body != "true" {
		t.Fatalf("a token before the outage: %q", body)
	}

	redis.stop()
	if _, body, _ := checkPassword(t, b.URL, clusterHTTPSecret, "alice", early); body == "true" {
		t.Error("a token was accepted while Redis was down")
	}
	if !eventually(t, 5*time.Second, func() bool {
		_, body := get(t, a.URL+"/readyz")
		return strings.HasPrefix(body, "degraded: shared state (Redis) unreachable")
	}) {
		_, body := get(t, a.URL+"/readyz")
		t.Errorf("readyz at a during the outage: %q", body)
	}
	if code, body := get(t, b.URL+"/readyz"); code != 200 || !strings.HasPrefix(body, "degraded") {
		t.Errorf("readyz at b during the outage: %d %q (degraded, still in service)", code, body)
	}
	if status, resp := requestSession(t, a.URL, clusterSessionKey, `{"login":"alice"}`); status != http.StatusServiceUnavailable || resp["error"] != "state-unavailable" {
		t.Errorf("session request during the outage: %d %v", status, resp)
	}
	for _, p := range []*serveProcess{a, b} {
		if _, body, _ := checkPassword(t, p.URL, clusterHTTPSecret, "alice", "alice-pw-1"); body != "true" {
			t.Errorf("a password at %s during the outage: %q", p.URL, body)
		}
	}
	// The limit holds per process: 4 failures at a lock dave there.
	for range 4 {
		checkPassword(t, a.URL, clusterHTTPSecret, "dave", "wrong")
	}
	if _, body, _ := checkPassword(t, a.URL, clusterHTTPSecret, "dave", "dave-pw-2b"); body != "false" {
		t.Error("the per-process limit did not hold during the outage")
	}
	if n := len(logLines(t, logA, "shared state (Redis) unreachable", "tokens and session requests are refused")); n != 1 {
		t.Errorf("the outage is logged %d times at a; want once", n)
	}
	_, metrics := get(t, a.URL+"/metrics")
	if !strings.Contains(metrics, "livechat_auth_shared_state_up 0") || !strings.Contains(metrics, "livechat_auth_shared_state_outages_total 1") {
		t.Errorf("metrics during the outage:\n%s", grepLines(metrics, "shared_state"))
	}

	startRedis(t, port, t.TempDir()) // back, empty
	for _, p := range []*serveProcess{a, b} {
		if !eventually(t, 10*time.Second, func() bool { _, body := get(t, p.URL+"/readyz"); return body == "ready\n" }) {
			_, body := get(t, p.URL+"/readyz")
			t.Fatalf("%s did not recover: %q", p.URL, body)
		}
	}
	if len(logLines(t, logA, "shared state (Redis) answers again")) != 1 {
		t.Error("the recovery is not logged")
	}
	if _, body, _ := checkPassword(t, a.URL, clusterHTTPSecret, "alice", early); body != "false" {
		t.Error("a token issued before Redis lost its data was accepted: it may have been used before")
	}
	time.Sleep(1100 * time.Millisecond) // tokens carry whole seconds: the next is issued after the record became whole
	after := sessionToken(t, a, "alice")
	if _, body, _ := checkPassword(t, b.URL, clusterHTTPSecret, "alice", after); body != "true" {
		t.Fatalf("a token after the recovery: %q", body)
	}
	if _, body, _ := checkPassword(t, a.URL, clusterHTTPSecret, "alice", after); body != "false" {
		t.Error("after the recovery, a token used at b was accepted at a")
	}
}

// forgetPrefix deletes the keys under prefix in the Redis at url when
// the test ends, so that tests leave nothing in the machine's Redis.
func forgetPrefix(t testing.TB, url, prefix string) {
	t.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator() // prefixes made by randomName hold no glob character
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// BenchmarkSharedStateSignIn measures what sharing the state in Redis
// costs a sign-in: ejabberd with livechat-auth in the README's setup (the
// automatic daemon), once with the state in the daemon's memory and once
// in this machine's Redis, in turns in one run, for repeated password
// sign-ins (a failure-limit look-up in Redis beside the account's) and
// one-time tokens (a used-token write to Redis). It prints each rate and
// the ratios "redis÷memory".
//
//	go test ./test -run '^$' -bench SharedStateSignIn -benchtime 1500x -count 2
func BenchmarkSharedStateSignIn(b *testing.B) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
	need(b, "Redis on 127.0.0.1:6379", err == nil, "scripts/setup.sh starts redis-server")
	if err == nil {
		c.Close()
	}
	w := newWiki(b)
	benchPrefix := randomName("bench-") + ":"
	forgetPrefix(b, "redis://127.0.0.1:6379/0", benchPrefix)
	key := keygen(b, "RS256")
	tokens := fmt.Sprintf("token:\n  signing_key_file: %q\n", key)
	memCfg, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, tokens)
	redisCfg, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, tokens+
		fmt.Sprintf("state:\n  redis_url: redis://127.0.0.1:6379/0\n  key_prefix: %q\n", benchPrefix))
	ej := func(cfg string) string {
		e := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", Extauth: binPath + " extauth --config " + cfg, PoolSize: -1})
		return fmt.Sprintf("127.0.0.1:%d", e.C2SPort)
	}
	mem, shared := ej(memCfg), ej(redisCfg)
	rates := compareSignIns(b, []*signInSetup{
		{name: "repeat-memory", addr: mem, next: cycle(loadUsers), warm: warmUp(mem)},
		{name: "repeat-redis", addr: shared, next: cycle(loadUsers), warm: warmUp(shared)},
		tokenSetup("token-memory", mem, key),
		tokenSetup("token-redis", shared, key),
	})
	reportRatio(b, rates, "repeat-redis", "repeat-memory")
	reportRatio(b, rates, "token-redis", "token-memory")
}

// TestAutoDaemonTakesNewSharedState: adding state.* to the config file of
// a running automatic daemon stops it (a running daemon cannot take new
// shared state), and the daemon started in its place shares the failure
// counts in Redis.
func TestAutoDaemonTakesNewSharedState(t *testing.T) {
	machineRedis(t)
	w := newWiki(t)
	dir := t.TempDir()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, "")
	p := startExtauth(t, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	if !p.ask(t, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}) {
		t.Fatal("alice refused")
	}
	prefix := randomName("daemon-") + ":"
	forgetPrefix(t, "redis://127.0.0.1:6379/0", prefix)
	writeConfig(t, dir, w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf("state:\n  redis_url: redis://127.0.0.1:6379/0\n  key_prefix: %q\n", prefix))
	if !eventually(t, 10*time.Second, func() bool {
		l := p.log(t)
		return strings.Contains(l, "stopping so that a daemon of the new settings takes over") && strings.Contains(l, `changed="state.*"`)
	}) {
		t.Fatalf("the daemon did not stop for the new shared state:\n%s", p.log(t))
	}
	opts, _ := redis.ParseURL("redis://127.0.0.1:6379/0")
	c := redis.NewClient(opts)
	defer c.Close()
	if !eventually(t, 30*time.Second, func() bool {
		p.ask(t, extauth.Request{Command: "auth", User: "bob", Server: "chat.test", Password: "not bob's"})
		n, _ := c.Exists(context.Background(), prefix+"fail:bob").Result()
		return n == 1
	}) {
		t.Fatalf("no failure count in Redis after the change:\n%s", p.log(t))
	}
	p.finish(t)
}
