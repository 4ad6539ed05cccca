package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/wikidb"
)

// twoSidecars: two Authenticators, each with its own memory, sharing one
// Redis prefix.
func twoSidecars(t *testing.T, max, cost int) (a, b *provider.Authenticator) {
	ra := openTest(t, nil)
	rb, err := Open(Config{URL: redisURL, Prefix: ra.prefix, Timeout: time.Second}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rb.Close() })
	h, _ := bcrypt.GenerateFromPassword([]byte("alice-pw"), cost)
	lc := "alice"
	mk := func(r *Redis) *provider.Authenticator {
		dir := providertest.NewDirectory(wikidb.Prefs{PassDueDays: -1},
			wikidb.User{ID: 1, Login: "alice", Hash: string(h), LivechatID: &lc, PassConfirm: 1700000000})
		mem := provider.NewMemory()
		au, err := provider.New(dir, provider.Config{Domains: []string{"chat.test"}, CacheTTL: time.Minute, CacheSize: 10,
			MaxFailures: max, FailureWindow: time.Minute, Memory: mem, Failures: r.Failures(mem.Failures())})
		if err != nil {
			t.Fatal(err)
		}
		return au
	}
	return mk(ra), mk(rb)
}

// TestDeadContextStillCountsInRedis: a request whose context has ended
// (the decision's deadline passed) still goes on to check its password,
// so it is counted in Redis too, not in this process's counts alone: a
// lock the other sidecar made in Redis holds.
func TestDeadContextStillCountsInRedis(t *testing.T) {
	const max = 2
	a, b := twoSidecars(t, max, 4)
	ctx := context.Background()
	hashed := 0
	for i := 0; i <= max; i++ { // locks alice in Redis, through b
		if _, err := b.Authenticate(ctx, "alice", "chat.test", fmt.Sprint("b-guess-", i)); errors.Is(err, provider.ReasonBadPassword) {
			hashed++
		}
	}
	dead, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i <= max; i++ {
		if _, err := a.Authenticate(dead, "alice", "chat.test", fmt.Sprint("a-guess-", i)); errors.Is(err, provider.ReasonBadPassword) {
			hashed++
		}
	}
	t.Logf("wrong passwords hashed in one window: %d", hashed)
	if hashed > max+1 {
		t.Errorf("%d wrong passwords hashed; the rule allows %d", hashed, max+1)
	}
}

// TestWaitPendingPastTheDeadline: the realistic way to a dead context: a
// guess waits (waitPending) for this process's pending hash, past the
// decision's deadline (httpauth's default is 1.5s, waitPending's own cap
// 2s), then reserves again with the dead context, which must still be
// counted in Redis: at most max+1 wrong passwords are hashed.
func TestWaitPendingPastTheDeadline(t *testing.T) {
	const max = 2
	a, b := twoSidecars(t, max, 13) // a slow hash
	ctx := context.Background()
	hashed := 0
	for i := 0; i < max; i++ {
		if _, err := b.Authenticate(ctx, "alice", "chat.test", fmt.Sprint("b-guess-", i)); errors.Is(err, provider.ReasonBadPassword) {
			hashed++
		}
	}
	counted := func() int { lk, _ := a.LockOf("alice"); return lk.Failures + lk.Guesses }
	for round := 0; round < 3; round++ {
		before := counted()
		done := make(chan error, 1)
		go func() { // pending at a: the last failure Redis allows, or a guess
			_, err := a.Authenticate(ctx, "alice", "chat.test", fmt.Sprint("a-slow-", round))
			done <- err
		}()
		// Wait until the slow attempt is counted (in Redis, where LockOf
		// reads), so that the late one finds it under way, or has ended
		// (sealed: nothing counted).
		for deadline := time.Now().Add(5 * time.Second); counted() == before && len(done) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the slow attempt was neither counted nor ended")
			}
			time.Sleep(time.Millisecond)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := a.Authenticate(short, "alice", "chat.test", fmt.Sprint("a-late-", round))
		cancel()
		if errors.Is(err, provider.ReasonBadPassword) {
			hashed++
		}
		if err := <-done; errors.Is(err, provider.ReasonBadPassword) {
			hashed++
		}
	}
	t.Logf("wrong passwords hashed in one window: %d", hashed)
	if hashed > max+1 {
		t.Errorf("%d wrong passwords hashed; the rule allows %d", hashed, max+1)
	}
}

// TestTwoSidecarsBurst: a burst of wrong passwords split over two
// sidecars sharing Redis, the account not locked at the start: at most
// max+1 are hashed.
func TestTwoSidecarsBurst(t *testing.T) {
	const max, burst = 3, 40
	a, b := twoSidecars(t, max, 4)
	ctx := context.Background()
	var wg sync.WaitGroup
	var hashed, limited atomic.Int64
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			au := a
			if i%2 == 1 {
				au = b
			}
			<-start
			_, err := au.Authenticate(ctx, "alice", "chat.test", fmt.Sprint("guess-", i))
			switch {
			case errors.Is(err, provider.ReasonBadPassword):
				hashed.Add(1)
			case errors.Is(err, provider.ReasonRateLimited):
				limited.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	lk, _ := a.LockOf("alice")
	t.Logf("hashed %d, rate-limited %d; lock: failures %d guesses %d sealed %v", hashed.Load(), limited.Load(), lk.Failures, lk.Guesses, lk.Sealed)
	if hashed.Load() > max+1 {
		t.Errorf("%d hashed", hashed.Load())
	}
}
