package providertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// FailureCounts runs the conformance table of provider.FailureCounts
// against fresh counts from open: the memory kept in one process and the
// counts shared in Redis must answer alike.
func FailureCounts(t *testing.T, open func(t *testing.T) provider.FailureCounts) {
	f := failures{
		ctx:  context.Background(),
		lim:  provider.Limit{Max: 3, Window: time.Minute},
		base: time.Now().Truncate(time.Second),
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f failures, c provider.FailureCounts)
	}{
		{"nothing recorded", failuresNothingRecorded},
		{"max failures do not block, one more does", failuresBlockPastMax},
		{"failures leave the window", failuresLeaveTheWindow},
		{"a blocked account counts nothing more", failuresBlockedCountsNothing},
		{"a released reservation is no failure", failuresReleased},
		{"at once, at most max+1 reservations", failuresAtOnce},
		{"guesses count only while blocked and seal it", failuresGuessesSeal},
		{"clear lifts the lock and the guesses", failuresClear},
		{"names are kept exactly", failuresNamesExact},
		{"sealed counts nothing", failuresSealedCountsNothing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f
			f.t = t
			tc.run(t, f, open(t))
		})
	}
}

// failures is what every case of FailureCounts shares: a limit, and a
// clock in whole seconds from base.
type failures struct {
	t    *testing.T // the case's
	ctx  context.Context
	lim  provider.Limit
	base time.Time
}

// at is s seconds after base.
func (f failures) at(s int) time.Time { return f.base.Add(time.Duration(s) * time.Second) }

// failN records n failures of name, one a second from second from.
func (f failures) failN(c provider.FailureCounts, name string, n int, from int) {
	for i := range n {
		c.Reserve(f.ctx, name, f.lim, f.at(from+i))
	}
}

// blocked reports whether name is blocked at now, and sealed; Sealed
// must say what Reserve says.
func (f failures) blocked(c provider.FailureCounts, name string, now time.Time) (b, s bool) {
	f.t.Helper()
	sealed := c.Sealed(f.ctx, name, f.lim, now)
	// A Reserve that counts is taken back: asking changes nothing.
	id, b, s := c.Reserve(f.ctx, name, f.lim, now)
	if id != "" {
		c.Release(f.ctx, name, id)
	}
	if sealed != s {
		f.t.Errorf("Sealed(%q) = %v where Reserve says sealed %v", name, sealed, s)
	}
	return b, s
}

// failuresNothingRecorded: nothing recorded blocks nothing, locks
// nothing and clears nothing.
func failuresNothingRecorded(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	if b, s := f.blocked(c, "alice", at(0)); b || s {
		t.Errorf("Blocked = %v, %v on no failures", b, s)
	}
	if _, ok := c.LockOf(ctx, "alice", lim, at(0)); ok {
		t.Error("a lock on no failures")
	}
	if got := c.Locks(ctx, lim, at(0)); len(got) != 0 {
		t.Errorf("Locks = %v", got)
	}
	if c.Clear(ctx, "alice", lim, at(0)) {
		t.Error("Clear reported failures that were never made")
	}
}

// failuresBlockPastMax: max failures do not block, one more does; the
// lock holds the failures and ends when the first leaves the window, and
// blocks no other account.
func failuresBlockPastMax(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max, 0)
	if b, _ := f.blocked(c, "alice", at(5)); b {
		t.Fatal("blocked after max failures")
	}
	c.Reserve(ctx, "alice", lim, at(10))
	b, s := f.blocked(c, "alice", at(11))
	if !b || s {
		t.Fatalf("Blocked = %v, sealed %v after max+1 failures; want blocked, unsealed", b, s)
	}
	lk, ok := c.LockOf(ctx, "alice", lim, at(11))
	want := provider.Lock{Name: "alice", Failures: lim.Max + 1, Until: at(0).Add(lim.Window)}
	if !ok || lk != want {
		t.Errorf("LockOf = %+v, %v; want %+v", lk, ok, want)
	}
	if b, _ := f.blocked(c, "bob", at(11)); b {
		t.Error("another account is blocked too")
	}
}

// failuresLeaveTheWindow: a block ends when its first failure leaves the
// window.
func failuresLeaveTheWindow(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max+1, 0)
	if b, _ := f.blocked(c, "alice", at(59)); !b {
		t.Fatal("not blocked within the window")
	}
	if b, _ := f.blocked(c, "alice", at(60)); b {
		t.Error("still blocked once the first failure left the window")
	}
	if _, ok := c.LockOf(ctx, "alice", lim, at(60)); ok {
		t.Error("a lock once the first failure left the window")
	}
}

// failuresBlockedCountsNothing: a blocked account counts no further
// failure: its lock keeps max+1 failures and Reserve grants nothing.
func failuresBlockedCountsNothing(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", 3*lim.Max, 0)
	lk, ok := c.LockOf(ctx, "alice", lim, at(3*lim.Max))
	if !ok || lk.Failures != lim.Max+1 || !lk.Until.Equal(at(0).Add(lim.Window)) {
		t.Errorf("LockOf = %+v, %v; want %d failures until %v", lk, ok, lim.Max+1, at(0).Add(lim.Window))
	}
	if id, b, _ := c.Reserve(ctx, "alice", lim, at(3*lim.Max)); id != "" || !b {
		t.Errorf("Reserve on a blocked account = %q, %v", id, b)
	}
}

// failuresReleased: a released reservation is no failure, and releasing
// an unknown one is harmless.
func failuresReleased(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	for i := range 3 * lim.Max {
		id, b, _ := c.Reserve(ctx, "alice", lim, at(i))
		if id == "" || b {
			t.Fatalf("reservation %d: %q, blocked %v", i, id, b)
		}
		c.Release(ctx, "alice", id)
	}
	if _, ok := c.LockOf(ctx, "alice", lim, at(3*lim.Max)); ok {
		t.Error("released reservations made a lock")
	}
	c.Release(ctx, "alice", "no-such-id") // harmless
	c.Release(ctx, "nobody", "1")
}

// failuresAtOnce: of 20 reservations at once, exactly max+1 are granted.
func failuresAtOnce(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if id, b, _ := c.Reserve(ctx, "alice", lim, at(1)); id != "" && !b {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != lim.Max+1 {
		t.Errorf("%d of 20 concurrent reservations granted; want %d", granted, lim.Max+1)
	}
}

// failuresGuessesSeal: guesses count only while blocked, and max of them
// seal the lock.
func failuresGuessesSeal(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	c.Reserve(ctx, "alice", lim, at(0))
	c.Guessed(ctx, "alice", lim, at(1)) // not blocked: not kept
	f.failN(c, "alice", lim.Max, 2)
	for i := range lim.Max - 1 {
		c.Guessed(ctx, "alice", lim, at(10+i))
	}
	if _, s := f.blocked(c, "alice", at(20)); s {
		t.Fatalf("sealed after %d guesses (one made before the block)", lim.Max-1)
	}
	for i := range 3 {
		c.Guessed(ctx, "alice", lim, at(21+i))
	}
	b, s := f.blocked(c, "alice", at(30))
	if !b || !s {
		t.Fatalf("Blocked = %v, sealed %v after max guesses", b, s)
	}
	if lk, _ := c.LockOf(ctx, "alice", lim, at(30)); lk.Guesses != lim.Max || !lk.Sealed {
		t.Errorf("LockOf = %+v; want %d guesses, sealed", lk, lim.Max)
	}
}

// failuresClear: Clear lifts the lock and the guesses, and reports
// whether there were failures.
func failuresClear(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max+1, 0)
	c.Guessed(ctx, "alice", lim, at(5))
	if !c.Clear(ctx, "alice", lim, at(6)) {
		t.Fatal("Clear reported no failures")
	}
	if b, _ := f.blocked(c, "alice", at(6)); b {
		t.Error("blocked after Clear")
	}
	if c.Clear(ctx, "alice", lim, at(6)) {
		t.Error("a second Clear reported failures")
	}
	f.failN(c, "alice", lim.Max+1, 7)
	if lk, _ := c.LockOf(ctx, "alice", lim, at(12)); lk.Guesses != 0 {
		t.Errorf("guesses from before Clear counted: %+v", lk)
	}
}

// failuresNamesExact: names are kept exactly: Locks lists each as given,
// and none matches another as a pattern.
func failuresNamesExact(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	names := []string{"strasse", "a*b?[c]", `back\slash`, "日本", "x:fail:y"}
	for _, n := range names {
		f.failN(c, n, lim.Max+1, 0)
	}
	c.Reserve(ctx, "alone", lim, at(0))
	got := map[string]bool{}
	for _, lk := range c.Locks(ctx, lim, at(10)) {
		got[lk.Name] = true
	}
	for _, n := range names {
		if !got[n] {
			t.Errorf("Locks misses %q: %v", n, got)
		}
	}
	if len(got) != len(names) {
		t.Errorf("Locks = %v; want exactly %v", got, names)
	}
	if b, _ := f.blocked(c, "a", at(10)); b {
		t.Error(`"a" is blocked by "a*b?[c]"`)
	}
}

// failuresSealedCountsNothing: Sealed counts no failure and no guess,
// and tells a lock sealed only while it blocks.
func failuresSealedCountsNothing(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max, 0)
	for range 3 * lim.Max {
		if c.Sealed(ctx, "alice", lim, at(5)) {
			t.Fatal("sealed before any block")
		}
	}
	if b, _ := f.blocked(c, "alice", at(5)); b {
		t.Fatal("asking Sealed counted failures")
	}
	c.Reserve(ctx, "alice", lim, at(6))
	for i := range lim.Max {
		c.Guessed(ctx, "alice", lim, at(7+i))
	}
	if !c.Sealed(ctx, "alice", lim, at(20)) {
		t.Fatal("not sealed after max guesses while blocked")
	}
	if lk, _ := c.LockOf(ctx, "alice", lim, at(20)); lk.Guesses != lim.Max || lk.Failures != lim.Max+1 {
		t.Errorf("asking Sealed changed the lock: %+v", lk)
	}
	// The block lifts when the first failure leaves the window; the
	// guesses stay in theirs but seal nothing unblocked.
	if c.Sealed(ctx, "alice", lim, at(60)) {
		t.Error("sealed once the block lifted")
	}
	if b, s := f.blocked(c, "alice", at(60)); b || s {
		t.Errorf("Blocked = %v, sealed %v once the block lifted", b, s)
	}
}

// UsedRecords runs the conformance table of token.UsedRecord against a
// fresh record from open. Tokens are issued once the record is open: a
// record refuses what was issued before it became whole (in whole
// seconds, as tokens carry them).
func UsedRecords(t *testing.T, open func(t *testing.T) token.UsedRecord) {
	ctx := context.Background()
	// issued is the time of a token issued now, in whole seconds.
	issued := func() (now, exp time.Time) {
		now = time.Now().Truncate(time.Second)
		return now, now.Add(5 * time.Minute)
	}
	t.Run("once each", func(t *testing.T) {
		u := open(t)
		now, exp := issued()
		if err := u.Use(ctx, "jti-1", now, exp, now); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := u.Use(ctx, "jti-1", now, exp, now.Add(time.Second)); !errors.Is(err, token.ErrUsed) {
			t.Errorf("second use: %v; want ErrUsed", err)
		}
		if err := u.Use(ctx, "jti-2", now, exp, now); err != nil {
			t.Errorf("another jti: %v", err)
		}
	})
	t.Run("odd jtis", func(t *testing.T) {
		u := open(t)
		now, exp := issued()
		for _, id := range []string{"", " ", "a\nb", "日本", "x*", string(make([]byte, 4096))} {
			if err := u.Use(ctx, id, now, exp, now); err != nil {
				t.Errorf("first use of %q: %v", id, err)
			}
			if err := u.Use(ctx, id, now, exp, now); !errors.Is(err, token.ErrUsed) {
				t.Errorf("second use of %q: %v", id, err)
			}
		}
	})
	t.Run("an expired token is never accepted", func(t *testing.T) {
		u := open(t)
		now, _ := issued()
		if err := u.Use(ctx, "late", now.Add(-time.Minute), now, now); err == nil {
			t.Error("a use at expiry was accepted")
		}
	})
}

// SeenRecord is session.SeenRecord (named here so that session's own
// tests may use this package).
type SeenRecord interface {
	FirstUse(ctx context.Context, mac []byte, ts int64, now time.Time, maxSkew time.Duration) (bool, error)
}

// SeenRecords runs the conformance table of session.SeenRecord against a
// fresh record from open; requests are signed once it is open.
func SeenRecords(t *testing.T, open func(t *testing.T) SeenRecord) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().Truncate(time.Second)
	mac := []byte("a verified mac\x00\xff")
	if first, err := s.FirstUse(ctx, mac, now.Unix(), now, time.Minute); err != nil || !first {
		t.Fatalf("first use: %v, %v", first, err)
	}
	if first, err := s.FirstUse(ctx, mac, now.Unix(), now.Add(time.Second), time.Minute); err != nil || first {
		t.Errorf("second use: %v, %v; want refused", first, err)
	}
	if first, err := s.FirstUse(ctx, []byte("another"), now.Unix(), now, time.Minute); err != nil || !first {
		t.Errorf("another request: %v, %v", first, err)
	}
}
