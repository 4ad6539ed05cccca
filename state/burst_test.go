package state

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/wikidb"
)

// askCounter counts the Reserves and Guesses that answer blocked but not
// sealed: each is an attempt checkPassword lets ask the cache.
type askCounter struct {
	provider.FailureCounts
	asks atomic.Int64
}

func (c *askCounter) Reserve(ctx context.Context, key string, lim provider.Limit, now time.Time) (string, bool, bool) {
	id, b, s := c.FailureCounts.Reserve(ctx, key, lim, now)
	if b && !s {
		c.asks.Add(1)
	}
	return id, b, s
}

func (c *askCounter) Guess(ctx context.Context, key string, lim provider.Limit, now time.Time) (string, bool, bool) {
	id, b, s := c.FailureCounts.Guess(ctx, key, lim, now)
	if b && !s {
		c.asks.Add(1)
	}
	return id, b, s
}

// TestBurstAsksTheCacheAtMostMax: of a burst of guesses sent at once into
// a lock not yet sealed (the right password among them), at most max ask
// the cache, with the counts in Redis as in memory: each attempt counts
// its guess in one step with its look at the lock.
func TestBurstAsksTheCacheAtMostMax(t *testing.T) {
	t.Run("redis", func(t *testing.T) { burstCacheAsks(t, true) })
	t.Run("memory", func(t *testing.T) { burstCacheAsks(t, false) })
}

func burstCacheAsks(t *testing.T, shared bool) {
	const max, burst = 5, 40
	ctx := context.Background()
	h, _ := bcrypt.GenerateFromPassword([]byte("alice-pw"), 4)
	lc := "alice"
	dir := providertest.NewDirectory(wikidb.Prefs{PassDueDays: -1},
		wikidb.User{ID: 1, Login: "alice", Hash: string(h), LivechatID: &lc, PassConfirm: 1700000000})
	r := openTest(t, nil)
	mem := provider.NewMemory()
	counts := &askCounter{FailureCounts: mem.Failures()}
	if shared {
		counts.FailureCounts = r.Failures(mem.Failures())
	}
	a, err := provider.New(dir, provider.Config{Domains: []string{"chat.test"}, CacheTTL: time.Minute, CacheSize: 10,
		MaxFailures: max, FailureWindow: time.Minute, Memory: mem, Failures: counts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil { // the owner: cached
		t.Fatal(err)
	}
	for i := 0; i <= max; i++ {
		a.Authenticate(ctx, "alice", "chat.test", "typo")
	}
	counts.asks.Store(0)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprintf("guess-%d", i)
			if i == burst-1 {
				pw = "alice-pw"
			}
			<-start
			if _, err := a.Authenticate(ctx, "alice", "chat.test", pw); err == nil {
				accepted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	lk, _ := a.LockOf("alice")
	// The right password, when it gets to ask, takes its guess back: it
	// frees a place, and gives a guesser nothing it did not have.
	wrong := counts.asks.Load() - accepted.Load()
	t.Logf("%d of %d attempts sent at once asked the cache, %d of them wrong; lock after: guesses %d, sealed %v", counts.asks.Load(), burst, wrong, lk.Guesses, lk.Sealed)
	if wrong > max {
		t.Errorf("%d wrong guesses asked the cache in one window; the rule allows %d", wrong, max)
	}
	if lk.Guesses > max {
		t.Errorf("%d guesses kept; at most %d", lk.Guesses, max)
	}
}
