package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livechat-auth/provider/session"
	"livechat-auth/xmpp/httpauth"
)

// TestFaultSoak runs steady sign-ins through real ejabberd (README's
// setup: extauth with the automatic daemon) and real Prosody (our module,
// asking serve), with the state shared in a Redis of the test's own,
// for LIVECHAT_SOAK (default 60s), while it injects faults at random
// moments, one at a time: the wiki database cut and restored, Redis
// killed and started again empty, the automatic daemon killed, ejabberd
// restarted, a SIGHUP with a broken config and one with a good config.
//
// A wrong answer is counted however it comes: a wrong password, a refused
// account or a used token accepted, a token or a signed session request
// accepted twice. A right credential may be refused only inside the
// documented window of a fault that affects it (soakWindows); outside
// every window it is a failure, and so is any request left unanswered
// (a daemon kill included), or a daemon not back within 2 s. At the end
// every process must still run (no panic in any log) and, after the
// cleanup, none of the test's processes may be left.
//
//	CI=1 go test ./test -run TestFaultSoak -count=1 -v
//	LIVECHAT_SOAK=10m go test ./test -run TestFaultSoak -count=1 -v -timeout 20m
//
// LIVECHAT_SOAK_SEED replays the same random choices (faults, their order,
// gaps and lengths, and each worker's credentials and paths); timing
// still varies.
func TestFaultSoak(t *testing.T) {
	dur := envDuration(t, "LIVECHAT_SOAK", 60*time.Second)
	seed := time.Now().UnixNano()
	if v := os.Getenv("LIVECHAT_SOAK_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("LIVECHAT_SOAK_SEED: %v", err)
		}
	}
	t.Logf("fault soak for %s, seed %d (LIVECHAT_SOAK_SEED=%d replays its choices)", dur, seed, seed)
	leaks := watchLeaks(t) // first: it runs after every other cleanup
	s := startSoakStack(t, leaks)
	t.Cleanup(func() { s.keepLogs(t) })
	s.warmUp(t)
	l := newLedger()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	defer stop() // a fatal fault step still stops the workers
	s.startTraffic(ctx, &wg, l, seed)
	s.runFaults(t, l, rand.New(rand.NewSource(seed)), dur)
	stop()

	s.checkAlive(t)
	l.evaluate(t, dur, seed)
}

// envDuration reads a duration from the environment.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Second {
		t.Fatalf("%s=%q: want a duration of at least 10s", name, v)
	}
	return d
}

const (
	soakHost       = "chat.test"
	soakHTTPSecret = "prosody shares this with livechat-auth"
)

var soakSessionKey = []byte("the wiki and livechat-auth share this key")

// soakStack is the system under test and the handles the faults need.
type soakStack struct {
	wiki      *wiki
	proxy     *dbProxy
	redis     *redisServer
	redisPort int
	leaks     *leakWatch

	cfgPath, goodCfg string
	keyPath          string
	logPath          string // log.file: ejabberd's extauth processes, the daemon, the test's extauth processes
	serveLog         string // serve's own log file
	serveErr         string // serve's stderr (a panic lands there)
	srv              *serveProcess

	ej     atomic.Pointer[ejabberd]
	ejOpts ejabberdOptions
	pr     *prosody
	x      *extauthPool
	daemon int // the automatic daemon's pid as last seen or started by a fault
	http   *http.Client
	// configBroken is set while the config file is broken: the test's
	// extauth processes are not restarted then (they would exit at start).
	configBroken atomic.Bool
}

func startSoakStack(t *testing.T, leaks *leakWatch) *soakStack {
	t.Helper()
	s := &soakStack{http: &http.Client{Timeout: 15 * time.Second}, leaks: leaks}
	s.wiki = newWiki(t)
	s.proxy = startDBProxy(t, s.wiki.Addr)
	s.redisPort = freePort(t)
	s.redis = startRedis(t, s.redisPort, t.TempDir())
	leaks.add(s.redis.cmd.Process.Pid)

	dir := t.TempDir()
	s.keyPath = keygen(t, "ES256")
	s.cfgPath, s.logPath = writeConfig(t, dir, s.proxy.DSN(t, s.wiki.ReaderDSN), []string{soakHost}, fmt.Sprintf(
		// state.timeout: 2s, not 250ms: on a loaded test machine a slow
		// answer would read as a Redis outage that no fault caused.
		"token:\n  signing_key_file: %q\nsession:\n  key: %q\nhttpauth:\n  secret: %q\nstate:\n  redis_url: \"redis://127.0.0.1:%d/0\"\n  timeout: 2s\n",
		s.keyPath, soakSessionKey, soakHTTPSecret, s.redisPort))
	s.goodCfg = readFile(t, s.cfgPath)

	s.serveLog, s.serveErr = filepath.Join(dir, "serve.log"), filepath.Join(dir, "serve.stderr")
	port := freePort(t)
	s.srv = startServeTo(t, s.cfgPath, port, s.serveErr,
		fmt.Sprintf("LIVECHAT_AUTH_SERVE_LISTEN=127.0.0.1:%d", port), "LIVECHAT_AUTH_LOG_FILE="+s.serveLog)

	s.ejOpts = ejabberdOptions{Host: soakHost, Extauth: binPath + " extauth --config " + s.cfgPath, PoolSize: -1}
	ej := startEjabberdWith(t, s.ejOpts)
	s.ejOpts.Dir = ej.Dir // a restart keeps the data folder and the daemon's folder
	s.ej.Store(ej)
	s.pr = startProsody(t, soakHost, livechatModuleSettings(s.srv.URL, soakHTTPSecret))
	s.x = startExtauthPool(t, 2, []string{binPath, "extauth", "--config", s.cfgPath},
		[]string{"PATH=/usr/bin:/bin", "RUNTIME_DIRECTORY=" + ej.RunDir}, filepath.Join(dir, "extauth.stderr"), &s.configBroken)
	return s
}

// startServeTo starts serve as startServeOn does, with its stderr in a
// file, so that a panic can be found after the run.
func startServeTo(t *testing.T, cfgPath string, port int, stderrPath string, env ...string) *serveProcess {
	t.Helper()
	errFile, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { errFile.Close() })
	p := &serveProcess{URL: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	p.cmd = exec.Command(binPath, "serve", "--config", cfgPath)
	p.cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = errFile, errFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }() // reported through exited
	t.Cleanup(func() { p.stop(t) })
	waitPort(t, port, p.exited, 10*time.Second, stderrPath)
	return p
}

// warmUp signs in once on every path before the soak starts, and learns
// the automatic daemon's pid.
func (s *soakStack) warmUp(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	alice := soakRight[0]
	for _, path := range []string{pathEjabberd, pathProsody, pathExtauth} {
		if r := s.signIn(ctx, path, alice.user, alice.password); !r.accepted {
			t.Fatalf("warm-up: %s refused alice's password: %s", path, r.detail)
		}
	}
	if !eventually(t, 20*time.Second, func() bool { return len(daemonPIDs(t, s.ej.Load().RunDir)) == 1 }) {
		t.Fatalf("warm-up: %d automatic daemons run, want 1", len(daemonPIDs(t, s.ej.Load().RunDir)))
	}
	s.daemon = daemonPIDs(t, s.ej.Load().RunDir)[0]
	if sr := s.session(ctx, alice.login); sr.status != http.StatusOK || sr.token == "" {
		t.Fatalf("warm-up: session API: %d %s", sr.status, sr.detail)
	}
}

// soakUser is one sign-in credential of the fixture.
type soakUser struct{ login, user, password string }

// soakRight are accounts whose password must sign in. No wrong password
// is ever tried on them, so the failure limit never locks them.
var soakRight = []soakUser{
	{"alice", "alice", "alice-pw-1"}, {"bob", "bob", "bob-pw-12"}, {"carol", "carol", "carol-pw-2a"},
	{"dave", "dave", "dave-pw-2b"}, {"erin", "erin", "erin-pw-md5crypt"}, {"frank", "frank", "frank-pw-md5"},
	{"Grace", "grace", "grace-pw-login"}, {"heidi", "heidi", "heidi-pw-email"},
}

// soakRefused must never sign in: wrong passwords (one a PHP "0e" digest
// collision), and right passwords of accounts the rules refuse.
var soakRefused = []soakUser{
	{"walter", "walter", "walter-pw-wrong"}, {"sybil", "sybil", "QNKCDZO"}, {"victor", "victor", "pa:ss wörd"},
	{"nina", "nina", "nina-pw"}, {"mallory", "mallory", "mallory-pw"}, {"quinn", "quinn", "quinn-pw"},
	{"rupert", "rupert", "rupert-pw"}, {"ivan", "ivan", "ivan-pw-des"}, {"judy", "judy", "judy-pw-openid"},
	{"oscar", "oscar", "oscar-pw"}, {"peggy", "peggy", "peggy-pw"}, {"ursula", "ursula", "ursula-pw"},
	{"nobody", "nobody", "whatever"}, {"zoe", "zoe", "zoe-pw"},
}

// soakNoSession are logins the session API must refuse (suspended,
// unvalidated, unmigrated, unfinished, must change password, unknown).
var soakNoSession = []string{"nina", "mallory", "rupert", "oscar", "peggy", "nobody-at-all"}

// soakNoUser are names isuser must deny: no account, no livechat_id, the
// ASCII spelling of zoë.
var soakNoUser = []string{"nobody", "rupert", "zoe", "ghost"}

// The paths a credential can take.
const (
	pathEjabberd = "ejabberd" // a Go XMPP client through ejabberd, extauth, the automatic daemon
	pathProsody  = "prosody"  // a Go XMPP client through Prosody, mod_auth_livechat, serve
	pathExtauth  = "extauth"  // the 2-byte framed protocol on an extauth process of the test's own
	pathHTTP     = "http"     // serve's HTTP contract (user_exists)
	pathSession  = "session"  // serve's session API
)

var signInPaths = []string{pathEjabberd, pathProsody, pathExtauth}

// result is how one request ended.
type result struct {
	accepted bool
	detail   string // why not, for the report
}

// signIn tries user's password (or token) on one path.
func (s *soakStack) signIn(ctx context.Context, path, user, password string) result {
	switch path {
	case pathExtauth:
		return s.x.ask(ctx, "auth", user, password)
	case pathEjabberd, pathProsody:
		port := s.pr.C2SPort
		if path == pathEjabberd {
			port = s.ej.Load().C2SPort
		}
		if err := goSignIn(ctx, fmt.Sprintf("127.0.0.1:%d", port), user+"@"+soakHost, password); err != nil {
			return result{detail: err.Error()}
		}
		return result{accepted: true}
	}
	panic("unknown path " + path)
}

// userExists asks isuser (extauth) or user_exists (the HTTP contract).
func (s *soakStack) userExists(ctx context.Context, path, user string) result {
	if path == pathExtauth {
		return s.x.ask(ctx, "isuser", user, "")
	}
	form := url.Values{"user": {user}, "server": {soakHost}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/auth/user_exists", strings.NewReader(form.Encode()))
	if err != nil {
		return result{detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", httpauth.BasicAuthorization("prosody", []byte(soakHTTPSecret)))
	resp, err := s.http.Do(req)
	if err != nil {
		return result{detail: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // a short body reads as a refusal
	if resp.StatusCode == http.StatusOK && string(b) == "true" {
		return result{accepted: true}
	}
	return result{detail: fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("X-Livechat-Reason"), b)}
}

// signedRequest is one signed session request, kept to be sent again.
type signedRequest struct {
	ts, sig, body string
	at            time.Time
}

func (r signedRequest) key() string { return r.ts + " " + r.sig }

// sessionResult is the session API's answer.
type sessionResult struct {
	req    signedRequest
	status int
	token  string
	jid    string
	detail string
}

// session signs a new request for login, as the wiki does, and sends it.
func (s *soakStack) session(ctx context.Context, login string) sessionResult {
	return s.sendSession(ctx, newSignedRequest(login))
}

// newSignedRequest signs a session request for login with a fresh nonce.
func newSignedRequest(login string) signedRequest {
	now := time.Now()
	body := fmt.Sprintf(`{"login":%q,"nonce":%q}`, login, randomName("n"))
	return signedRequest{ts: fmt.Sprint(now.Unix()), sig: session.Sign(soakSessionKey, now, []byte(body)), body: body, at: now}
}

// sendSession sends a signed request exactly as given.
func (s *soakStack) sendSession(ctx context.Context, r signedRequest) sessionResult {
	out := sessionResult{req: r}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/v1/sessions", strings.NewReader(r.body))
	if err != nil {
		out.detail = err.Error()
		return out
	}
	req.Header.Set(session.HeaderTimestamp, r.ts)
	req.Header.Set(session.HeaderSignature, r.sig)
	resp, err := s.http.Do(req)
	if err != nil {
		out.detail = err.Error()
		return out
	}
	defer resp.Body.Close()
	out.status = resp.StatusCode
	var body struct {
		Token, JID, Error string
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		out.detail = fmt.Sprintf("%d, body: %v", resp.StatusCode, err)
		return out
	}
	out.token, out.jid = body.Token, body.JID
	out.detail = fmt.Sprintf("%d %s", resp.StatusCode, body.Error)
	return out
}

// startTraffic starts the workers; they stop when ctx ends.
func (s *soakStack) startTraffic(ctx context.Context, wg *sync.WaitGroup, l *ledger, seed int64) {
	used := &usedRecord{}
	workers := []func(ctx context.Context, rng *rand.Rand){
		func(ctx context.Context, rng *rand.Rand) { s.passwordWorker(ctx, rng, l) },
		func(ctx context.Context, rng *rand.Rand) { s.passwordWorker(ctx, rng, l) },
		func(ctx context.Context, rng *rand.Rand) { s.tokenWorker(ctx, rng, l, used) },
		func(ctx context.Context, rng *rand.Rand) { s.tokenWorker(ctx, rng, l, used) },
		func(ctx context.Context, rng *rand.Rand) { s.isuserWorker(ctx, rng, l) },
		func(ctx context.Context, rng *rand.Rand) { s.replayWorker(ctx, rng, l, used) },
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.watchNote(ctx, l) }()
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(ctx, rand.New(rand.NewSource(seed+int64(i)+1)))
		}()
	}
}

// pace waits a little between requests; it reports false once ctx ends.
func pace(ctx context.Context, rng *rand.Rand) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(30+rng.Intn(120)) * time.Millisecond):
		return true
	}
}

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.Intn(len(from))] }

// timed runs f and records its outcome as one attempt.
func timed(l *ledger, kind, path, user, key string, f func() result) result {
	start := time.Now()
	r := f()
	l.add(attempt{kind: kind, path: path, user: user, key: key, start: start, end: time.Now(), accepted: r.accepted, detail: r.detail})
	return r
}

// passwordWorker signs in with right passwords, and now and then with a
// credential that must be refused, on random paths.
func (s *soakStack) passwordWorker(ctx context.Context, rng *rand.Rand, l *ledger) {
	bg := context.Background() // not ctx: the end of the run cuts no request short
	for pace(ctx, rng) {
		u, path := pick(rng, soakRight), pick(rng, signInPaths)
		timed(l, kindPassword, path, u.user, "", func() result { return s.signIn(bg, path, u.user, u.password) })
		if rng.Intn(2) == 0 {
			u, path = pick(rng, soakRefused), pick(rng, signInPaths)
			timed(l, kindWrongPassword, path, u.user, "", func() result { return s.signIn(bg, path, u.user, u.password) })
		}
	}
}

// tokenWorker asks the session API for a token, sends the same signed
// request again, signs in with the token once and tries it again on
// another path; now and then it asks for a refused account's session,
// signs in as another account with a token, or with a forged one.
func (s *soakStack) tokenWorker(ctx context.Context, rng *rand.Rand, l *ledger, used *usedRecord) {
	bg := context.Background() // not ctx: the end of the run cuts no request short
	for pace(ctx, rng) {
		u := pick(rng, soakRight)
		var sr sessionResult
		req := newSignedRequest(u.login)
		timed(l, kindSession, pathSession, u.login, req.key(), func() result {
			sr = s.sendSession(bg, req)
			return result{accepted: sr.status == http.StatusOK, detail: sr.detail}
		})
		if sr.status != http.StatusOK {
			continue
		}
		used.addRequest(sr.req)
		timed(l, kindSessionReplay, pathSession, u.login, sr.req.key(), func() result {
			r := s.sendSession(bg, sr.req)
			return result{accepted: r.status == http.StatusOK, detail: r.detail}
		})
		if sr.token == "" || sr.jid != u.user+"@"+soakHost {
			l.problem("session for %s answered jid %q and a token of %d bytes", u.login, sr.jid, len(sr.token))
			continue
		}
		switch rng.Intn(8) {
		case 0: // another account's name with this token: refused, and the token stays unused
			other := pick(rng, soakRight)
			if other.user != u.user {
				path := pick(rng, signInPaths)
				timed(l, kindTokenOtherUser, path, other.user, sr.token, func() result { return s.signIn(bg, path, other.user, sr.token) })
			}
		case 1: // a forged signature
			forged := sr.token[:len(sr.token)-2] + flip(sr.token[len(sr.token)-2:])
			path := pick(rng, signInPaths)
			timed(l, kindTokenForged, path, u.user, "", func() result { return s.signIn(bg, path, u.user, forged) })
		}
		first := pick(rng, signInPaths)
		r := timed(l, kindToken, first, u.user, sr.token, func() result { return s.signIn(bg, first, u.user, sr.token) })
		if !r.accepted {
			continue
		}
		used.addToken(u.user, sr.token)
		again := pick(rng, signInPaths)
		timed(l, kindTokenReplay, again, u.user, sr.token, func() result { return s.signIn(bg, again, u.user, sr.token) })
		if rng.Intn(5) == 0 {
			login := pick(rng, soakNoSession)
			timed(l, kindSessionRefused, pathSession, login, "", func() result {
				r := s.session(bg, login)
				return result{accepted: r.status == http.StatusOK, detail: r.detail}
			})
		}
	}
}

// flip changes a token's last characters into others of base64url.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// isuserWorker asks whether accounts exist, on the extauth pipe and the
// HTTP contract.
func (s *soakStack) isuserWorker(ctx context.Context, rng *rand.Rand, l *ledger) {
	bg := context.Background() // not ctx: the end of the run cuts no request short
	for pace(ctx, rng) {
		path := pick(rng, []string{pathExtauth, pathHTTP})
		if rng.Intn(3) == 0 {
			name := pick(rng, soakNoUser)
			timed(l, kindIsuserUnknown, path, name, "", func() result { return s.userExists(bg, path, name) })
			continue
		}
		u := pick(rng, soakRight)
		timed(l, kindIsuser, path, u.user, "", func() result { return s.userExists(bg, path, u.user) })
	}
}

// replayWorker sends tokens and signed requests that were accepted
// before, at random later moments (after faults too), on random paths.
func (s *soakStack) replayWorker(ctx context.Context, rng *rand.Rand, l *ledger, used *usedRecord) {
	bg := context.Background() // not ctx: the end of the run cuts no request short
	for pace(ctx, rng) {
		if user, tok, ok := used.token(rng); ok {
			path := pick(rng, signInPaths)
			timed(l, kindTokenReplay, path, user, tok, func() result { return s.signIn(bg, path, user, tok) })
		}
		if req, ok := used.request(rng); ok {
			timed(l, kindSessionReplay, pathSession, "", req.key(), func() result {
				r := s.sendSession(bg, req)
				return result{accepted: r.status == http.StatusOK, detail: r.detail}
			})
		}
	}
}

// usedRecord keeps tokens and signed requests that were accepted once,
// while they would still be valid (younger than 4 minutes: tokens live 5,
// signed requests may be 5 minutes old).
type usedRecord struct {
	mu       sync.Mutex
	tokens   []usedToken
	requests []signedRequest
}

type usedToken struct {
	user, token string
	at          time.Time
}

const usedKeep = 4 * time.Minute

func (u *usedRecord) addToken(user, tok string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.tokens = append(u.tokens, usedToken{user, tok, time.Now()})
	for len(u.tokens) > 0 && time.Since(u.tokens[0].at) > usedKeep {
		u.tokens = u.tokens[1:]
	}
}

func (u *usedRecord) addRequest(r signedRequest) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, r)
	for len(u.requests) > 0 && time.Since(u.requests[0].at) > usedKeep {
		u.requests = u.requests[1:]
	}
}

func (u *usedRecord) token(rng *rand.Rand) (user, tok string, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.tokens) == 0 {
		return "", "", false
	}
	t := pick(rng, u.tokens)
	return t.user, t.token, true
}

func (u *usedRecord) request(rng *rand.Rand) (signedRequest, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		return signedRequest{}, false
	}
	return pick(rng, u.requests), true
}

// watchNote records each new note of when the shared record became whole
// (<prefix>since, "run_id:unix-ms", written by the first process to use
// a Redis that lost its data), with the time the note itself holds. It
// only reads, with a plain RESP GET on a connection of its own.
func (s *soakStack) watchNote(ctx context.Context, l *ledger) {
	const key = "livechat-auth:since" // the default state.key_prefix
	addr := fmt.Sprintf("127.0.0.1:%d", s.redisPort)
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		v, ok := redisGet(addr, key)
		if !ok || v == "" || v == last {
			continue // Redis down, or no note yet: nothing new
		}
		last = v
		if ms, err := strconv.ParseInt(v[strings.LastIndexByte(v, ':')+1:], 10, 64); err == nil {
			l.noteWritten(time.UnixMilli(ms))
		}
	}
}

// redisGet reads one string key; ok is false when Redis did not answer.
func redisGet(addr, key string) (value string, ok bool) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return "", false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second)) // a failed deadline shows up as a failed read
	if _, err := fmt.Fprintf(c, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key); err != nil {
		return "", false
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return "", false
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return "", err == nil // $-1: no such key
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", false
	}
	return string(buf[:n]), true
}
