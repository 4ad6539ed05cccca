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

// BenchmarkEjabberdSignIn measures full sign-ins per second through a real
// ejabberd, with 8 concurrent clients, for a trivial always-yes extauth
// program (the baseline no extauth can beat) and for livechat-auth on the
// fixture wiki: repeated sign-ins (cache hits) of bcrypt accounts. Compare
// the signins/s metrics of the sub-benchmarks of one run: machines are
// noisy, ratios are what matter.
//
//	go test ./test -run '^$' -bench EjabberdSignIn -benchtime 2000x
func BenchmarkEjabberdSignIn(b *testing.B) {
	yes := filepath.Join(b.TempDir(), "yesauth")
	if out, err := exec.Command("go", "build", "-o", yes, "./testdata/yesauth").CombinedOutput(); err != nil {
		b.Fatalf("build yesauth: %v\n%s", err, out)
	}
	w := newWiki(b)
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, "")
	users := []struct{ jid, pw string }{
		{"alice@chat.test", "alice-pw-1"}, {"carol@chat.test", "carol-pw-2a"},
		{"dave@chat.test", "dave-pw-2b"}, {"walter@chat.test", "walter-pw"},
	}
	for _, c := range []struct{ name, program string }{
		{"baseline-yesauth", yes},
		{"livechat-auth", binPath + " extauth --config " + cfgPath},
	} {
		b.Run(c.name, func(b *testing.B) {
			ej := startEjabberd(b, "chat.test", c.program)
			addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
			for _, u := range users { // warm up: first sign-ins pay bcrypt
				if err := goSignIn(context.Background(), addr, u.jid, u.pw); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						u := users[n%int64(len(users))]
						if err := goSignIn(context.Background(), addr, u.jid, u.pw); err != nil {
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
		})
	}
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
