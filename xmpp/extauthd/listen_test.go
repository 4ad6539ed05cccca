package extauthd

import (
	"testing"
	"time"
)

func TestActivityIdle(t *testing.T) {
	var a Activity
	now := time.Now()
	if d := a.IdleFor(now); d != 0 {
		t.Fatalf("idle %s before anything happened", d)
	}
	if d := a.IdleFor(now.Add(time.Minute)); d != time.Minute {
		t.Fatalf("idle %s a minute after start, want 1m", d)
	}
	a.conns.Add(1)
	if d := a.IdleFor(now.Add(time.Hour)); d != 0 {
		t.Fatalf("idle %s with a relay connected", d)
	}
}
