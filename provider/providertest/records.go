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
		{"a blocked account counts guesses, not failures", failuresBlockedCountsGuesses},
		{"a released reservation is no failure", failuresReleased},
		{"at once, at most max+1 failures and max guesses", failuresAtOnce},
		{"at once, at most max guesses of a proved password", failuresGuessesAtOnce},
		{"guesses count only while blocked and seal it", failuresGuessesSeal},
		{"clear lifts the lock and the guesses", failuresClear},
		{"names are kept exactly", failuresNamesExact},
		{"a guess counts only while blocked, and is taken back", failuresGuess},
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

// blocked reports whether name is blocked at now, and sealed; Guess must
// say what Reserve says. What either counts is taken back: asking
// changes nothing.
func (f failures) blocked(c provider.FailureCounts, name string, now time.Time) (b, s bool) {
	f.t.Helper()
	gid, gb, gs := c.Guess(f.ctx, name, f.lim, now)
	if gid != "" {
		c.Release(f.ctx, name, gid)
	}
	if gid != "" && !gb {
		f.t.Errorf("Guess(%q) counted on an account not blocked", name)
	}
	id, b, s := c.Reserve(f.ctx, name, f.lim, now)
	if id != "" {
		c.Release(f.ctx, name, id)
	}
	if gb != b || gs != s {
		f.t.Errorf("Guess(%q) = blocked %v, sealed %v where Reserve says %v, %v", name, gb, gs, b, s)
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

// failuresBlockedCountsGuesses: a blocked account counts no further
// failure: its lock keeps max+1 failures, the attempts past them are
// guesses, max at most, and then Reserve counts nothing.
func failuresBlockedCountsGuesses(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", 3*lim.Max, 0)
	lk, ok := c.LockOf(ctx, "alice", lim, at(3*lim.Max))
	if !ok || lk.Failures != lim.Max+1 || lk.Guesses != lim.Max || !lk.Sealed || !lk.Until.Equal(at(0).Add(lim.Window)) {
		t.Errorf("LockOf = %+v, %v; want %d failures, %d guesses, sealed, until %v", lk, ok, lim.Max+1, lim.Max, at(0).Add(lim.Window))
	}
	if id, b, s := c.Reserve(ctx, "alice", lim, at(3*lim.Max)); id != "" || !b || !s {
		t.Errorf("Reserve on a sealed account = %q, %v, %v", id, b, s)
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

// failuresAtOnce: of 20 reservations at once, exactly max+1 count a
// failure and max a guess; the rest count nothing and are sealed.
func failuresAtOnce(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	failed, guessed, sealed := atOnce(20, func() (string, bool, bool) { return c.Reserve(ctx, "alice", lim, at(1)) })
	if failed != lim.Max+1 || guessed != lim.Max || sealed != 20-2*lim.Max-1 {
		t.Errorf("of 20 reservations at once, %d failures, %d guesses, %d sealed; want %d, %d, %d", failed, guessed, sealed, lim.Max+1, lim.Max, 20-2*lim.Max-1)
	}
}

// failuresGuessesAtOnce: of 20 guesses at once on a blocked account,
// exactly max count; the rest are sealed.
func failuresGuessesAtOnce(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max+1, 0)
	failed, guessed, sealed := atOnce(20, func() (string, bool, bool) { return c.Guess(ctx, "alice", lim, at(10)) })
	if failed != 0 || guessed != lim.Max || sealed != 20-lim.Max {
		t.Errorf("of 20 guesses at once, %d failures, %d guesses, %d sealed; want 0, %d, %d", failed, guessed, sealed, lim.Max, 20-lim.Max)
	}
}

// atOnce runs count calls of reserve at once and sorts their answers:
// a failure counted, a guess counted, or sealed (nothing counted).
func atOnce(count int, reserve func() (id string, blocked, sealed bool)) (failed, guessed, sealed int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range count {
		wg.Go(func() {
			id, b, s := reserve()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case id != "" && !b:
				failed++
			case id != "" && b && !s:
				guessed++
			case id == "" && b && s:
				sealed++
			}
		})
	}
	wg.Wait()
	return failed, guessed, sealed
}

// failuresGuessesSeal: guesses count only while blocked, and max of them
// seal the lock.
func failuresGuessesSeal(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	c.Guess(ctx, "alice", lim, at(0)) // not blocked: not counted
	f.failN(c, "alice", lim.Max+1, 2)
	for i := range lim.Max - 1 {
		if id, b, s := c.Reserve(ctx, "alice", lim, at(10+i)); id == "" || !b || s {
			t.Fatalf("guess %d: %q, blocked %v, sealed %v", i+1, id, b, s)
		}
	}
	if _, s := f.blocked(c, "alice", at(20)); s {
		t.Fatalf("sealed after %d guesses (one tried before the block)", lim.Max-1)
	}
	c.Reserve(ctx, "alice", lim, at(21))
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
	c.Reserve(ctx, "alice", lim, at(5)) // a guess
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

// failuresGuess: Guess counts nothing on an account that is not blocked;
// on a blocked one it counts a guess, max at most, and Release takes it
// back; once the block lifts it counts nothing again.
func failuresGuess(t *testing.T, f failures, c provider.FailureCounts) {
	ctx, lim, at := f.ctx, f.lim, f.at
	f.failN(c, "alice", lim.Max, 0)
	for range 3 * lim.Max {
		if id, b, s := c.Guess(ctx, "alice", lim, at(5)); id != "" || b || s {
			t.Fatalf("Guess before any block = %q, %v, %v", id, b, s)
		}
	}
	if b, _ := f.blocked(c, "alice", at(5)); b {
		t.Fatal("Guess counted failures")
	}
	c.Reserve(ctx, "alice", lim, at(6))
	var ids []string
	for i := range lim.Max {
		id, b, s := c.Guess(ctx, "alice", lim, at(7+i))
		if id == "" || !b || s {
			t.Fatalf("guess %d = %q, %v, %v; want one counted, blocked", i+1, id, b, s)
		}
		ids = append(ids, id)
	}
	if id, b, s := c.Guess(ctx, "alice", lim, at(20)); id != "" || !b || !s {
		t.Fatalf("Guess past max = %q, %v, %v; want sealed", id, b, s)
	}
	c.Release(ctx, "alice", ids[0])
	if _, s := f.blocked(c, "alice", at(20)); s {
		t.Fatal("still sealed after a guess was taken back")
	}
	if lk, _ := c.LockOf(ctx, "alice", lim, at(20)); lk.Guesses != lim.Max-1 || lk.Failures != lim.Max+1 {
		t.Errorf("LockOf = %+v; want %d failures, %d guesses", lk, lim.Max+1, lim.Max-1)
	}
	// The block lifts when the first failure leaves the window; the
	// guesses stay in theirs but count and seal nothing unblocked.
	if id, b, s := c.Guess(ctx, "alice", lim, at(60)); id != "" || b || s {
		t.Errorf("Guess once the block lifted = %q, %v, %v", id, b, s)
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
