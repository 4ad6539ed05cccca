package provider

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestFloodOfNamesKeepsTheLimit: when the record is full of other names,
// a new name is still counted and limited (room is made by forgetting a
// name that is not blocked), never let through uncounted.
func TestFloodOfNamesKeepsTheLimit(t *testing.T) {
	r := newFailureRecord()
	r.maxAccounts = 50
	lim := Limit{Max: 3, Window: time.Minute}
	ctx, now := context.Background(), time.Unix(1800000000, 0)
	for i := range 50 {
		r.Reserve(ctx, fmt.Sprintf("flood-%d", i), lim, now)
	}
	checked := 0
	for range 30 {
		if id, blocked, _ := r.Reserve(ctx, "alice", lim, now); id != "" && !blocked {
			checked++
		}
	}
	if checked != lim.Max+1 {
		t.Errorf("%d of 30 guesses at a full record were checked; want %d", checked, lim.Max+1)
	}
	if len(r.failures) > r.maxAccounts {
		t.Errorf("the record grew to %d names", len(r.failures))
	}
}

// TestBlockedReservationsHoldNothing: a blocked attempt (a guess) leaves
// nothing pending, so a later one never waits on it.
func TestBlockedReservationsHoldNothing(t *testing.T) {
	l := newFailureLimiter(Limit{Max: 1, Window: time.Minute}, newFailureRecord())
	ctx, now := context.Background(), time.Unix(1800000000, 0)
	for range 2 {
		l.keep("alice", l.reserve(ctx, "alice", now))
	}
	r := l.reserve(ctx, "alice", now)
	if !r.blocked || r.sealed || r.id == "" {
		t.Fatalf("third attempt: %+v; want a guess counted", r)
	}
	start := time.Now()
	if l.waitPending(ctx, "alice") || time.Since(start) > 100*time.Millisecond {
		t.Error("a blocked attempt left something pending")
	}
}
