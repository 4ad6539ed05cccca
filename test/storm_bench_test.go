package test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"livechat-auth/provider"
)

// stormAccount is one account of fixture/storm.tsv.
type stormAccount struct{ login, hash, password string }

// loadStorm reads fixture/storm.tsv (made by PHP's password_hash at
// bcrypt cost 10, as Tiki makes them: see make_storm.php) into the wiki
// and returns the accounts with their passwords.
func loadStorm(t testing.TB, w *wiki) []stormAccount {
	t.Helper()
	f, err := os.Open("fixture/storm.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var accts []stormAccount
	s := bufio.NewScanner(f)
	for s.Scan() {
		login, hash, ok := strings.Cut(s.Text(), "\t")
		if !ok {
			t.Fatalf("storm.tsv: bad line %q", s.Text())
		}
		var n int
		if _, err := fmt.Sscanf(login, "storm%d", &n); err != nil {
			t.Fatalf("storm.tsv: bad login %q", login)
		}
		accts = append(accts, stormAccount{login, hash, fmt.Sprintf("storm-%d-pw", n)})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for chunk := range slices.Chunk(accts, 500) {
		var q strings.Builder
		q.WriteString("INSERT INTO users_users (login, email, hash, livechat_id, pass_confirm, registrationDate, created, password) VALUES ")
		args := make([]any, 0, 4*len(chunk))
		for i, a := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, 1700000000, 1700000000, 1700000000, '')")
			args = append(args, a.login, a.login+"@example.org", a.hash, a.login)
		}
		mustExec(t, w.Root, q.String(), args...)
	}
	return accts
}

// bcryptCost times one bcrypt check of a storm account, the median of
// seven on one goroutine.
func bcryptCost(t testing.TB, a stormAccount) time.Duration {
	t.Helper()
	var took []time.Duration
	for i := 0; i < 7; i++ {
		start := time.Now()
		if err := provider.VerifyPassword(a.hash, a.password, a.login, a.login+"@example.org"); err != nil {
			t.Fatalf("storm account %s: %v", a.login, err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2]
}

// registerAll registers the accounts with ejabberd's internal auth, eight
// at a time.
func registerAll(b *testing.B, creds []credential, port int) {
	b.Helper()
	work := make(chan credential)
	refused := make(chan string, len(creds))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				user, host, _ := strings.Cut(c.jid, "@")
				if answer := tryRegister(b, user, host, c.password, port); !strings.Contains(answer, "type='result'") && !strings.Contains(answer, `type="result"`) {
					refused <- user + ": " + answer
				}
			}
		}()
	}
	for _, c := range creds {
		work <- c
	}
	close(work)
	wg.Wait()
	close(refused)
	for r := range refused {
		b.Fatalf("registration refused: %s", r)
	}
}

// BenchmarkReconnectStorm signs 2,000 distinct bcrypt-10 accounts in once
// each through a real ejabberd with 16 concurrent clients, as when a
// chat server comes back and every client reconnects:
//
//   - cold: nothing verified yet, measured against the bound
//     accounts × one bcrypt ÷ cores (bcrypt timed in the same run):
//     cold÷bound is 1.0 when every core does nothing but bcrypt;
//   - warm: the same accounts again, against ejabberd's internal auth
//     signing the same 2,000 accounts in (warm÷internal);
//   - restart: ejabberd restarted, livechat-auth's state left to live
//     on where it can, the same accounts again (restart÷internal).
//
// "default" is the setup README recommends (auth_use_cache: false,
// ejabberd's default pool of one extauth process per core, no other
// settings: the processes relay to their automatic daemon, which outlives
// ejabberd); "two-per-core" is the same with extauth_pool_size twice the
// cores, so that a slow hash is always ready for each core; "serve"
// relays them to a running serve (extauth.daemon_socket). Internal passes
// are taken between the others so that noise falls on both sides. A sign-in that fails (a client
// gives up after 15 s) is counted in "failed"; more than 1% stops the run.
//
//	go test ./test -run '^$' -bench ReconnectStorm -benchtime 1x -count 2 -timeout 60m
func BenchmarkReconnectStorm(b *testing.B) {
	w := newWiki(b)
	accts := loadStorm(b, w)
	creds := make([]credential, len(accts))
	for i, a := range accts {
		creds[i] = credential{a.login + "@chat.test", a.password}
	}
	next := func(n int) credential { return creds[n%len(creds)] }
	const clients = 16
	failures := 0
	pass := func(b *testing.B, addr, what string) time.Duration {
		d, failed := signInBatch(addr, next, 0, len(creds), clients)
		if failed > len(creds)/100 {
			b.Fatalf("%s: %d of %d sign-ins failed", what, failed, len(creds))
		}
		failures += failed
		return d
	}

	internal := startEjabberdWith(b, ejabberdOptions{Host: "chat.test", AuthMethod: "internal", Register: true})
	registerAll(b, creds, internal.C2SPort)
	internalAddr := fmt.Sprintf("127.0.0.1:%d", internal.C2SPort)
	cores := runtime.NumCPU()

	for _, setup := range []string{"default", "two-per-core", "serve"} {
		b.Run(setup, func(b *testing.B) {
			failures = 0
			extra := ""
			if setup == "serve" {
				socket := filepath.Join(b.TempDir(), "extauth.sock")
				extra = fmt.Sprintf("extauth:\n  daemon_socket: %q\n", socket)
				cfg, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, extra)
				startServe(b, cfg)
				waitSocket(b, socket)
			}
			cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{"chat.test"}, extra)
			opts := ejabberdOptions{Host: "chat.test", Extauth: binPath + " extauth --config " + cfgPath, PoolSize: -1, Dir: b.TempDir()}
			if setup == "two-per-core" {
				opts.PoolSize = 2 * runtime.NumCPU()
			}
			ej := startEjabberdWith(b, opts)
			addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)

			bcrypt := bcryptCost(b, accts[0])
			b.ResetTimer()
			cold := pass(b, addr, "cold")
			in1 := pass(b, internalAddr, "internal")
			warm := pass(b, addr, "warm")
			in2 := pass(b, internalAddr, "internal")
			ej.stop()
			ej = startEjabberdWith(b, opts)
			restart := pass(b, fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), "after restart")
			in3 := pass(b, internalAddr, "internal")
			b.StopTimer()
			bcrypt = (bcrypt + bcryptCost(b, accts[1])) / 2

			bound := time.Duration(len(accts)) * bcrypt / time.Duration(cores)
			rate := func(d time.Duration) float64 { return float64(len(creds)) / d.Seconds() }
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(failures), "failed")
			b.ReportMetric(bcrypt.Seconds()*1e3, "ms/bcrypt")
			b.ReportMetric(cold.Seconds(), "s-cold")
			b.ReportMetric(bound.Seconds(), "s-bound")
			b.ReportMetric(cold.Seconds()/bound.Seconds(), "cold÷bound")
			b.ReportMetric(rate(warm), "signins/s-warm")
			b.ReportMetric(rate(restart), "signins/s-restart")
			b.ReportMetric(rate(in1+in2+in3)*3, "signins/s-internal")
			b.ReportMetric(rate(warm)/rate(in1+in2)/2, "warm÷internal")
			b.ReportMetric(rate(restart)/rate(in2+in3)/2, "restart÷internal")
		})
	}
}
