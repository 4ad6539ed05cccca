package test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEjabberdDaemonKilledMidBurst: the automatic daemon is SIGKILLed
// three times in a burst of sign-ins through real ejabberd (a pool of
// two extauth processes; every password costs a bcrypt, so the daemon is
// nearly always deciding one when it dies). Every sign-in is answered
// within 2 s; no wrong password or used token is accepted; right
// passwords are accepted throughout; a fresh token is refused only
// within 2 s of a kill (no daemon keeps the used-token record then); a
// new daemon answers within 2 s of each kill; the extauth processes
// stay up, and the burst goes on.
func TestEjabberdDaemonKilledMidBurst(t *testing.T) {
	w := newWiki(t)
	key := keygen(t, "ES256")
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"},
		fmt.Sprintf("token:\n  signing_key_file: %q\nauth:\n  cache_ttl: 0s\n  max_failures: 0\n", key))
	ej := startEjabberdWith(t, ejabberdOptions{Host: "chat.test", Extauth: binPath + " extauth --config " + cfgPath, PoolSize: 2})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logPath) // missing: nothing to show
			t.Logf("livechat-auth log:\n%s", data)
		}
	})
	if err := goSignIn(context.Background(), addr, "alice@chat.test", "alice-pw-1"); err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	tokens := mintTokens(t, key, 2000)

	b := &burst{addr: addr, tokens: tokens}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); b.run(ctx, i) }()
	}
	var kills []time.Time
	for _, at := range []time.Duration{1500 * time.Millisecond, 4 * time.Second, 6500 * time.Millisecond} {
		time.Sleep(time.Until(b.started().Add(at)))
		pids := daemonPIDs(t, ej.RunDir)
		if len(pids) != 1 {
			t.Fatalf("%d daemons before a kill, want 1", len(pids))
		}
		kills = append(kills, time.Now())
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !eventually(t, 2*time.Second, func() bool {
			now := daemonPIDs(t, ej.RunDir)
			return len(now) == 1 && now[0] != pids[0]
		}) {
			t.Errorf("no new daemon within 2 s of the kill of %d", pids[0])
		}
	}
	time.Sleep(time.Until(kills[len(kills)-1].Add(3 * time.Second)))
	stop()
	wg.Wait()

	b.check(t, kills)
	// A new daemon answered after each kill, and each extauth process
	// that saw one gone reported how long.
	if n := len(logLines(t, logPath, "extauth-daemon", "answering extauth relays")); n != 1+len(kills) {
		t.Errorf("%d daemons started, want %d", n, 1+len(kills))
	}
	inFlight := logLines(t, logPath, "daemon lost while deciding a request")
	if len(inFlight) == 0 {
		t.Error("no kill caught the daemon deciding a request: the test proved nothing about requests in flight")
	}
	away := regexp.MustCompile(`daemon reachable again: away=(\S+)`)
	for _, l := range logLines(t, logPath, "daemon reachable again") {
		m := away.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("no away= in %q", l)
			continue
		}
		d, err := time.ParseDuration(m[1])
		if err != nil || d > 2*time.Second {
			t.Errorf("the daemon was away %s (%v), want at most 2s: %s", m[1], err, l)
		}
		t.Logf("away %s", d)
	}
	t.Logf("%d requests in flight at a kill, decided by their extauth process", len(inFlight))
	if data, err := os.ReadFile(ej.LogPath); err != nil {
		t.Fatal(err)
	} else if s := string(data); strings.Contains(s, "has terminated unexpectedly") || strings.Contains(s, "Failed to start external") {
		t.Error("ejabberd restarted an extauth process")
	}
}

// burst signs in continuously and records every attempt.
type burst struct {
	addr   string
	tokens []credential
	start  time.Time
	once   sync.Once

	mu       sync.Mutex
	next     int          // the next fresh token
	used     []credential // tokens accepted once
	attempts []burstAttempt
}

type burstAttempt struct {
	kind       string // right, wrong, token (fresh), replay
	user       string
	start, end time.Time
	err        error
}

func (b *burst) started() time.Time {
	b.once.Do(func() { b.start = time.Now() })
	return b.start
}

// run is one client: right password, wrong password, fresh token, used
// token, in turn from a different starting point per client.
func (b *burst) run(ctx context.Context, client int) {
	b.started()
	for i := client; ctx.Err() == nil; i++ {
		kind := []string{"right", "wrong", "token", "replay"}[i%4]
		u := loadUsers[i%len(loadUsers)]
		c := credential{u.jid, u.password}
		switch kind {
		case "wrong":
			c.password = "not-" + u.password
		case "token", "replay":
			b.mu.Lock()
			if kind == "replay" && len(b.used) > 0 {
				c = b.used[i%len(b.used)]
			} else {
				kind = "token"
				c = b.tokens[b.next%len(b.tokens)]
				b.next++
			}
			b.mu.Unlock()
		}
		a := burstAttempt{kind: kind, user: c.jid, start: time.Now()}
		a.err = goSignInWithin(context.Background(), 10*time.Second, b.addr, c.jid, c.password)
		a.end = time.Now()
		b.mu.Lock()
		b.attempts = append(b.attempts, a)
		if kind == "token" && a.err == nil {
			b.used = append(b.used, c)
		}
		b.mu.Unlock()
	}
}

// check judges every attempt against the kills.
func (b *burst) check(t *testing.T, kills []time.Time) {
	t.Helper()
	nearKill := func(a burstAttempt) bool {
		for _, k := range kills {
			if a.end.After(k) && a.start.Before(k.Add(2*time.Second)) {
				return true
			}
		}
		return false
	}
	last := kills[len(kills)-1].Add(2 * time.Second)
	counts := map[string][2]int{} // kind → accepted, refused
	var slowest time.Duration
	var after [2]int // right passwords and fresh tokens accepted once the last kill is 2 s past
	for _, a := range b.attempts {
		took := a.end.Sub(a.start)
		slowest = max(slowest, took)
		if took > 2*time.Second {
			t.Errorf("a %s sign-in as %s took %s (%v), over 2 s", a.kind, a.user, took.Round(time.Millisecond), a.err)
		}
		c := counts[a.kind]
		if a.err == nil {
			c[0]++
		} else {
			c[1]++
		}
		counts[a.kind] = c
		switch {
		case a.kind == "wrong" && a.err == nil:
			t.Errorf("a wrong password signed in as %s", a.user)
		case a.kind == "replay" && a.err == nil:
			t.Errorf("a used token signed in again as %s", a.user)
		case a.kind == "right" && a.err != nil:
			t.Errorf("a right password was refused as %s: %v", a.user, a.err)
		case a.kind == "token" && a.err != nil && !nearKill(a):
			t.Errorf("a fresh token was refused as %s with no kill in the 2 s before: %v", a.user, a.err)
		}
		if a.err == nil && a.start.After(last) {
			switch a.kind {
			case "right":
				after[0]++
			case "token":
				after[1]++
			}
		}
	}
	t.Logf("%d sign-ins, slowest %s; accepted/refused: %v", len(b.attempts), slowest.Round(time.Millisecond), counts)
	if after[0] == 0 || after[1] == 0 {
		t.Errorf("after the last kill, %d right passwords and %d fresh tokens signed in; want the burst to go on", after[0], after[1])
	}
}
