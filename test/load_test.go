package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livechat-auth/provider/token"
	"livechat-auth/xmpp/extauth"
)

func TestGoClientSignIn(t *testing.T) {
	w := newWiki(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, "")
	ej := startEjabberd(t, "chat.test", binPath+" extauth --config "+cfgPath)
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	if err := goSignIn(context.Background(), addr, "alice@chat.test", "alice-pw-1"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := goSignIn(context.Background(), addr, "alice@chat.test", "wrong"); err == nil {
		t.Fatal("wrong password signed in")
	}
}

// credential is one sign-in of a load run.
type credential struct{ jid, password string }

// loadUsers are bcrypt accounts of the fixture (the default Tiki format).
var loadUsers = []credential{
	{"alice@chat.test", "alice-pw-1"}, {"carol@chat.test", "carol-pw-2a"},
	{"dave@chat.test", "dave-pw-2b"}, {"walter@chat.test", "walter-pw"},
}

// signInBatch signs in count times with the given number of concurrent
// clients, taking credentials next(from), next(from+1), …, and returns
// how long that took and how many sign-ins failed.
func signInBatch(addr string, next func(n int) credential, from, count, clients int) (time.Duration, int) {
	var counter, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := counter.Add(1); n <= int64(count); n = counter.Add(1) {
				c := next(from + int(n-1))
				if err := goSignIn(context.Background(), addr, c.jid, c.password); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), int(failed.Load())
}

// signInSetup is one way of signing in that a benchmark compares.
type signInSetup struct {
	name  string
	addr  string                 // the chat server's client port
	next  func(n int) credential // the n-th sign-in's credential
	warm  func(b *testing.B)     // run once before timing, or nil
	spent time.Duration
}

// compareSignIns signs in b.N times on each setup with 8 concurrent
// clients, in rounds of at most 40 per setup that take turns, so that the
// machine's noise falls on every setup alike. It reports each setup's
// sign-ins per second ("signins/s-NAME") and returns them by name for
// ratios.
func compareSignIns(b *testing.B, setups []*signInSetup) map[string]float64 {
	b.Helper()
	for _, s := range setups {
		s.spent = 0
		if s.warm != nil {
			s.warm(b)
		}
	}
	const round = 40
	b.ResetTimer()
	for done, r := 0, 0; done < b.N; done, r = done+round, r+1 {
		count := min(round, b.N-done)
		for k := range setups {
			s := setups[(k+r)%len(setups)]
			d, failed := signInBatch(s.addr, s.next, done, count, 8)
			if failed > 0 {
				b.Fatalf("%s: %d of %d sign-ins failed", s.name, failed, count)
			}
			s.spent += d
		}
	}
	b.StopTimer()
	rates := make(map[string]float64, len(setups))
	b.ReportMetric(0, "ns/op")
	for _, s := range setups {
		rates[s.name] = float64(b.N) / s.spent.Seconds()
		b.ReportMetric(rates[s.name], "signins/s-"+s.name)
	}
	return rates
}

// reportRatio reports rates[a] ÷ rates[b] as the metric "a÷b".
func reportRatio(b *testing.B, rates map[string]float64, x, y string) {
	b.Helper()
	b.ReportMetric(rates[x]/rates[y], x+"÷"+y)
}

// cycle returns credentials in turn.
func cycle(creds []credential) func(int) credential {
	return func(n int) credential { return creds[n%len(creds)] }
}

// mintTokens mints n single-use tokens for the load users, in process,
// with the configured signing key.
func mintTokens(b testing.TB, keyPath string, n int) []credential {
	b.Helper()
	key, err := token.LoadPrivateKey(keyPath)
	if err != nil {
		b.Fatal(err)
	}
	m, err := token.NewMinter(token.MinterConfig{Key: key, Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]credential, n)
	for i := range out {
		u := loadUsers[i%len(loadUsers)]
		raw, _, err := m.Mint("sub", strings.TrimSuffix(u.jid, "@chat.test"))
		if err != nil {
			b.Fatal(err)
		}
		out[i] = credential{u.jid, raw}
	}
	return out
}

// warmUp signs each load user in a few times, so that every process of
// a pool has verified each password once (a first sign-in pays bcrypt).
func warmUp(addr string) func(b *testing.B) {
	return func(b *testing.B) {
		for i := 0; i < 6; i++ {
			if _, failed := signInBatch(addr, cycle(loadUsers), 0, len(loadUsers), 1); failed > 0 {
				b.Fatalf("warm-up: %d sign-ins failed", failed)
			}
		}
	}
}

// tokenSetup signs in with a fresh single-use token each time.
func tokenSetup(name, addr, keyPath string) *signInSetup {
	s := &signInSetup{name: name, addr: addr}
	s.warm = func(b *testing.B) {
		tokens := mintTokens(b, keyPath, b.N)
		s.next = func(n int) credential { return tokens[n] }
	}
	return s
}

// BenchmarkEjabberdSignIn measures full sign-ins per second through real
// ejabberds with 8 concurrent clients, all in one run and in turns:
// ejabberd's own internal auth, an always-yes extauth program (the
// ceiling of any extauth), and livechat-auth extauth in the setup README
// recommends (auth_use_cache: false, ejabberd's default pool of one
// extauth process per core, which relay to their automatic daemon), then
// relaying to a running serve (extauth.daemon_socket), then deciding
// alone in each process (extauth.daemon_socket: off), for repeated
// password sign-ins and for one-time RS256 tokens (keygen's default). It prints each rate and
// its ratio to the always-yes program ("NAME÷yes") and to internal auth.
//
//	go test ./test -run '^$' -bench EjabberdSignIn -benchtime 1500x -count 2 -timeout 30m
func BenchmarkEjabberdSignIn(b *testing.B) {
	yes := filepath.Join(b.TempDir(), "yesauth")
	if out, err := exec.Command("go", "build", "-o", yes, "./testdata/yesauth").CombinedOutput(); err != nil {
		b.Fatalf("build yesauth: %v\n%s", err, out)
	}
	w := newWiki(b)
	key := keygen(b, "RS256")
	socket := filepath.Join(b.TempDir(), "extauth.sock")
	tokens := fmt.Sprintf("token:\n  signing_key_file: %q\n", key)
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, tokens)
	serveCfg, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, tokens+fmt.Sprintf("extauth:\n  daemon_socket: %q\n", socket))
	aloneCfg, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, tokens+"extauth:\n  daemon_socket: \"off\"\n")
	startServe(b, serveCfg)
	waitSocket(b, socket)
	addr := func(e *ejabberd) string { return fmt.Sprintf("127.0.0.1:%d", e.C2SPort) }
	extauthEj := func(cfg string) *ejabberd {
		return startEjabberdWith(b, ejabberdOptions{Host: "chat.test", Extauth: binPath + " extauth --config " + cfg, PoolSize: -1})
	}

	internal := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", AuthMethod: "internal", Register: true})
	for _, u := range loadUsers {
		register(b, strings.TrimSuffix(u.jid, "@chat.test"), "chat.test", u.password, internal.C2SPort)
	}
	yesEj := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", Extauth: yes, PoolSize: -1})
	auto, relay, alone := extauthEj(cfgPath), extauthEj(serveCfg), extauthEj(aloneCfg)

	b.Run("default-pool", func(b *testing.B) {
		rates := compareSignIns(b, []*signInSetup{
			{name: "internal", addr: addr(internal), next: cycle(loadUsers), warm: warmUp(addr(internal))},
			{name: "yes", addr: addr(yesEj), next: cycle(loadUsers)},
			{name: "repeat", addr: addr(auto), next: cycle(loadUsers), warm: warmUp(addr(auto))},
			tokenSetup("token", addr(auto), key),
			{name: "repeat-serve", addr: addr(relay), next: cycle(loadUsers), warm: warmUp(addr(relay))},
			tokenSetup("token-serve", addr(relay), key),
			{name: "repeat-alone", addr: addr(alone), next: cycle(loadUsers), warm: warmUp(addr(alone))},
		})
		for _, x := range []string{"internal", "repeat", "token", "repeat-serve", "token-serve", "repeat-alone"} {
			reportRatio(b, rates, x, "yes")
		}
		for _, x := range []string{"repeat", "token", "repeat-serve", "token-serve", "repeat-alone"} {
			reportRatio(b, rates, x, "internal")
		}
	})
}

// waitSocket waits until a Unix socket exists at path.
func waitSocket(t testing.TB, path string) {
	t.Helper()
	if !eventually(t, 10*time.Second, func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Mode()&os.ModeSocket != 0
	}) {
		t.Fatalf("no socket at %s", path)
	}
}

// BenchmarkProsodySignIn is the same comparison on Prosody 0.12: its own
// internal_hashed auth against mod_auth_livechat asking livechat-auth
// serve over HTTP, for repeated password sign-ins and for tokens, in
// turns in one run, with the ratios to internal_hashed.
//
//	go test ./test -run '^$' -bench ProsodySignIn -benchtime 1500x -count 2
func BenchmarkProsodySignIn(b *testing.B) {
	w := newWiki(b)
	const secret = "prosody shares this with livechat-auth"
	key := keygen(b, "RS256")
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nhttpauth:\n  secret: %q\n", key, secret))
	var accounts [][2]string
	for _, u := range loadUsers {
		accounts = append(accounts, [2]string{strings.TrimSuffix(u.jid, "@chat.test"), u.password})
	}
	internal := startProsody(b, "chat.test", `authentication = "internal_hashed"`, accounts...)
	srv := startServe(b, cfgPath)
	livechat := startProsody(b, "chat.test", livechatModuleSettings(srv.URL, secret))
	addr := func(p *prosody) string { return fmt.Sprintf("127.0.0.1:%d", p.C2SPort) }
	b.Run("module", func(b *testing.B) {
		rates := compareSignIns(b, []*signInSetup{
			{name: "internal_hashed", addr: addr(internal), next: cycle(loadUsers)},
			{name: "repeat", addr: addr(livechat), next: cycle(loadUsers), warm: warmUp(addr(livechat))},
			tokenSetup("token", addr(livechat), key),
		})
		reportRatio(b, rates, "repeat", "internal_hashed")
		reportRatio(b, rates, "token", "internal_hashed")
	})
}

// BenchmarkExtauthRequest measures one extauth request/reply over pipes,
// the way ejabberd talks to its extauth program, for the always-yes
// baseline and for livechat-auth on the fixture wiki: a repeated sign-in
// (cache hit: one indexed query), isuser, and an unknown user (a dummy
// bcrypt, so that it costs what a wrong password costs).
func BenchmarkExtauthRequest(b *testing.B) {
	yes := filepath.Join(b.TempDir(), "yesauth")
	if out, err := exec.Command("go", "build", "-o", yes, "./testdata/yesauth").CombinedOutput(); err != nil {
		b.Fatalf("build yesauth: %v\n%s", err, out)
	}
	w := newWiki(b)
	env := []string{"LIVECHAT_AUTH_WIKI_DSN=" + w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test", "LIVECHAT_AUTH_AUTH_MAX_FAILURES=0"}
	alice := extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}
	cases := []struct {
		name    string
		program string
		req     extauth.Request
	}{
		{"baseline-yesauth", yes, alice},
		{"auth-cache-hit", binPath, alice},
		{"isuser", binPath, extauth.Request{Command: "isuser", User: "alice", Server: "chat.test"}},
		{"auth-bad-password", binPath, extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "wrong"}},
		{"auth-unknown-user", binPath, extauth.Request{Command: "auth", User: "nobody", Server: "chat.test", Password: "wrong"}},
		{"auth-nocache-md5", binPath, extauth.Request{Command: "auth", User: "frank", Server: "chat.test", Password: "frank-pw-md5"}},
		{"auth-nocache-md5crypt", binPath, extauth.Request{Command: "auth", User: "erin", Server: "chat.test", Password: "erin-pw-md5crypt"}},
		{"auth-nocache-bcrypt10", binPath, alice},
		{"auth-nocache-bcrypt12", binPath, extauth.Request{Command: "auth", User: "bob", Server: "chat.test", Password: "bob-pw-12"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			env := env
			if strings.Contains(c.name, "nocache") {
				env = append(env[:len(env):len(env)], "LIVECHAT_AUTH_AUTH_CACHE_TTL=0")
			}
			p := startExtauthProgram(b, c.program, env...)
			p.ask(b, c.req) // warm up
			b.ResetTimer()
			for b.Loop() {
				p.ask(b, c.req)
			}
		})
	}
}
