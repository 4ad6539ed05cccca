package test

import (
	"context"
	"fmt"
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

// signInRate signs in b.N times with 8 concurrent clients, taking the
// n-th credential from next, and reports sign-ins per second.
func signInRate(b *testing.B, addr string, next func(n int) credential) {
	b.Helper()
	var counter atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := counter.Add(1); n <= int64(b.N); n = counter.Add(1) {
				c := next(int(n - 1))
				if err := goSignIn(context.Background(), addr, c.jid, c.password); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d sign-ins failed", f, b.N)
	}
}

// cycle returns credentials in turn.
func cycle(creds []credential) func(int) credential {
	return func(n int) credential { return creds[n%len(creds)] }
}

// mintTokens mints n single-use tokens for the load users, in process,
// with the configured signing key.
func mintTokens(b *testing.B, keyPath string, n int) []credential {
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

// BenchmarkEjabberdSignIn measures full sign-ins per second through a real
// ejabberd with 8 concurrent clients: ejabberd's own internal auth (the
// baseline), a trivial always-yes extauth program (the ceiling of any
// extauth), and livechat-auth extauth on the fixture wiki for repeated
// password sign-ins (cache hits) and for one-time tokens. Compare the
// signins/s of sub-benchmarks of one run: ratios are what matter.
//
//	go test ./test -run '^$' -bench EjabberdSignIn -benchtime 2000x
func BenchmarkEjabberdSignIn(b *testing.B) {
	yes := filepath.Join(b.TempDir(), "yesauth")
	if out, err := exec.Command("go", "build", "-o", yes, "./testdata/yesauth").CombinedOutput(); err != nil {
		b.Fatalf("build yesauth: %v\n%s", err, out)
	}
	w := newWiki(b)
	key := keygen(b, "ES256")
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nauth:\n  max_failures: 0\n", key))
	livechat := binPath + " extauth --config " + cfgPath
	warm := func(b *testing.B, addr string) {
		for _, u := range loadUsers { // first sign-ins pay bcrypt
			if err := goSignIn(context.Background(), addr, u.jid, u.password); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("internal", func(b *testing.B) {
		ej := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", AuthMethod: "internal", Register: true})
		for _, u := range loadUsers {
			register(b, strings.TrimSuffix(u.jid, "@chat.test"), "chat.test", u.password, ej.C2SPort)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
		warm(b, addr)
		signInRate(b, addr, cycle(loadUsers))
	})
	b.Run("yesauth", func(b *testing.B) {
		ej := startEjabberd(b, "chat.test", yes)
		addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
		signInRate(b, addr, cycle(loadUsers))
	})
	b.Run("livechat-auth-repeat", func(b *testing.B) {
		ej := startEjabberd(b, "chat.test", livechat)
		addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
		warm(b, addr)
		signInRate(b, addr, cycle(loadUsers))
	})
	b.Run("livechat-auth-token", func(b *testing.B) {
		ej := startEjabberd(b, "chat.test", livechat)
		tokens := mintTokens(b, key, b.N)
		signInRate(b, fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), func(n int) credential { return tokens[n] })
	})
	// ejabberd's default: one extauth process per core (2 here).
	b.Run("livechat-auth-repeat-pool2", func(b *testing.B) {
		ej := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", Extauth: livechat, PoolSize: 2})
		addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
		warm(b, addr)
		warm(b, addr) // each process has its own cache
		signInRate(b, addr, cycle(loadUsers))
	})
}

// BenchmarkProsodySignIn is the same comparison on Prosody 0.12: its own
// internal_hashed auth against mod_auth_livechat asking livechat-auth
// serve over HTTP, for repeated password sign-ins and for tokens.
//
//	go test ./test -run '^$' -bench ProsodySignIn -benchtime 2000x
func BenchmarkProsodySignIn(b *testing.B) {
	w := newWiki(b)
	const secret = "prosody shares this with livechat-auth"
	key := keygen(b, "ES256")
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nhttpauth:\n  secret: %q\nauth:\n  max_failures: 0\n", key, secret))
	b.Run("internal_hashed", func(b *testing.B) {
		var accounts [][2]string
		for _, u := range loadUsers {
			accounts = append(accounts, [2]string{strings.TrimSuffix(u.jid, "@chat.test"), u.password})
		}
		p := startProsody(b, "chat.test", `authentication = "internal_hashed"`, accounts...)
		signInRate(b, fmt.Sprintf("127.0.0.1:%d", p.C2SPort), cycle(loadUsers))
	})
	srv := startServe(b, cfgPath)
	b.Run("livechat-auth-repeat", func(b *testing.B) {
		p := startProsody(b, "chat.test", livechatModuleSettings(srv.URL, secret))
		addr := fmt.Sprintf("127.0.0.1:%d", p.C2SPort)
		for _, u := range loadUsers {
			if err := goSignIn(context.Background(), addr, u.jid, u.password); err != nil {
				b.Fatal(err)
			}
		}
		signInRate(b, addr, cycle(loadUsers))
	})
	b.Run("livechat-auth-token", func(b *testing.B) {
		p := startProsody(b, "chat.test", livechatModuleSettings(srv.URL, secret))
		tokens := mintTokens(b, key, b.N)
		signInRate(b, fmt.Sprintf("127.0.0.1:%d", p.C2SPort), func(n int) credential { return tokens[n] })
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
