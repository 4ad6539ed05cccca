package wikidb

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cachedStore is a Store with only its account cache and a settable clock.
func cachedStore(ttl time.Duration, max int) (*Store, *time.Time) {
	now := time.Unix(1700000000, 0)
	return &Store{accounts: newAccountCache(ttl, max), now: func() time.Time { return now }}, &now
}

func TestAccountCache(t *testing.T) {
	s, now := cachedStore(2*time.Second, 10)
	ctx := context.Background()
	var reads atomic.Int32
	row := User{ID: 2, Login: "alice"}
	read := func(context.Context) (User, bool, error) { reads.Add(1); return row, true, nil }
	ask := func(id string) User {
		t.Helper()
		u, found, err := s.cachedUserByLivechatID(ctx, id, read)
		if err != nil || !found {
			t.Fatalf("%s: found=%v err=%v", id, found, err)
		}
		return u
	}

	ask("alice")
	row.Login = "alice2" // the wiki changes
	*now = now.Add(1999 * time.Millisecond)
	if u := ask("alice"); u.Login != "alice" || reads.Load() != 1 {
		t.Errorf("within the bound: login %q after %d reads, want the kept row after 1", u.Login, reads.Load())
	}
	*now = now.Add(time.Millisecond)
	if u := ask("alice"); u.Login != "alice2" || reads.Load() != 2 {
		t.Errorf("at the bound: login %q after %d reads, want the new row after 2", u.Login, reads.Load())
	}
	ask("bob")
	if reads.Load() != 3 {
		t.Errorf("another id: %d reads, want 3", reads.Load())
	}
}

func TestAccountCacheKeepsNoSuchAccountButNoError(t *testing.T) {
	s, now := cachedStore(time.Second, 10)
	ctx := context.Background()
	var reads int
	fault := errors.New("database down")
	fail := func(context.Context) (User, bool, error) { reads++; return User{}, false, fault }
	for i := 0; i < 2; i++ {
		if _, _, err := s.cachedUserByLivechatID(ctx, "x", fail); !errors.Is(err, fault) {
			t.Fatalf("err = %v, want the fault", err)
		}
	}
	if reads != 2 {
		t.Errorf("%d reads for two failing calls: an error was kept", reads)
	}
	none := func(context.Context) (User, bool, error) { reads++; return User{}, false, nil }
	for i := 0; i < 2; i++ {
		if _, found, err := s.cachedUserByLivechatID(ctx, "x", none); found || err != nil {
			t.Fatalf("found=%v err=%v", found, err)
		}
	}
	if reads != 3 {
		t.Errorf("%d reads, want 3: \"no such account\" is kept like a row", reads)
	}
	*now = now.Add(time.Second)
	s.cachedUserByLivechatID(ctx, "x", none)
	if reads != 4 {
		t.Errorf("%d reads, want 4: the kept answer outlived the bound", reads)
	}
}

func TestAccountCacheSizeBound(t *testing.T) {
	s, now := cachedStore(time.Minute, 3)
	read := func(context.Context) (User, bool, error) { return User{}, true, nil }
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		s.cachedUserByLivechatID(context.Background(), id, read)
		*now = now.Add(time.Second)
	}
	if n := len(s.accounts.answers); n != 3 {
		t.Errorf("%d answers kept, want at most 3", n)
	}
}

func TestAccountCacheSharesConcurrentReads(t *testing.T) {
	s, _ := cachedStore(time.Minute, 10)
	release := make(chan struct{})
	var reads atomic.Int32
	read := func(context.Context) (User, bool, error) { reads.Add(1); <-release; return User{ID: 7}, true, nil }
	var wg sync.WaitGroup
	var started sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			if u, _, _ := s.cachedUserByLivechatID(context.Background(), "alice", read); u.ID != 7 {
				t.Errorf("got user %d", u.ID)
			}
		}()
	}
	started.Wait()
	for reads.Load() == 0 {
		runtime.Gosched() // until one caller is inside read; the others join it or find its answer
	}
	close(release)
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads for 8 concurrent callers, want 1", n)
	}
}

func TestAccountCacheOff(t *testing.T) {
	if c := newAccountCache(0, 10); c != nil {
		t.Error("a zero bound made a cache")
	}
}
