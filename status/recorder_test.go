package status

import (
	"strings"
	"testing"
	"time"

	"livechat-auth/provider"
)

// TestRecorderRefusals: the last MaxRefusals refusals are kept, newest
// first, accepted ones (outage grace included) never, and a long name is
// cut on a rune boundary.
func TestRecorderRefusals(t *testing.T) {
	var r Recorder
	now := time.Now()
	r.Record("extauth", provider.Decision{Cmd: "auth", Name: "alice", Result: provider.ResultAccepted}, now)
	r.Record("extauth", provider.Decision{Cmd: "auth", Name: "alice", Result: provider.ResultOutageGrace}, now)
	if got := r.Refusals(); len(got) != 0 {
		t.Fatalf("accepted decisions kept as refusals: %+v", got)
	}
	for i := 0; i < MaxRefusals+7; i++ {
		r.Record("httpauth", provider.Decision{Cmd: "check_password", Name: strings.Repeat("é", 60), Result: "bad-password"}, now.Add(time.Duration(i)*time.Second))
	}
	got := r.Refusals()
	if len(got) != MaxRefusals {
		t.Fatalf("%d refusals kept, want %d", len(got), MaxRefusals)
	}
	if !got[0].At.Equal(now.Add((MaxRefusals+6)*time.Second)) || !got[0].At.After(got[1].At) {
		t.Errorf("not newest first: %v, %v", got[0].At, got[1].At)
	}
	if n := len(got[0].Name); n > maxName || !strings.HasPrefix(strings.Repeat("é", 60), got[0].Name) {
		t.Errorf("a long name kept as %d bytes %q", n, got[0].Name)
	}
}

// TestRecorderLastMinute counts each edge's decisions of the last 60 s.
func TestRecorderLastMinute(t *testing.T) {
	var r Recorder
	now := time.Now()
	r.Record("httpauth", provider.Decision{Result: "accepted"}, now.Add(-90*time.Second))
	r.Record("httpauth", provider.Decision{Result: "accepted"}, now.Add(-30*time.Second))
	r.Record("httpauth", provider.Decision{Result: "bad-password"}, now)
	r.Record("extauth", provider.Decision{Result: "accepted"}, now.Add(-59*time.Second))
	if got := r.LastMinute(now); got["httpauth"] != 2 || got["extauth"] != 1 {
		t.Errorf("last minute: %v, want httpauth 2, extauth 1", got)
	}
}
