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

// TestRecorderKeepsSignInRefusals: the chat server's lookups (isuser,
// user_exists) that find no account are counted but kept out of the
// refusals, so that a flood of them cannot push a sign-in's refusal out;
// a name's controls and format characters are shown escaped.
func TestRecorderKeepsSignInRefusals(t *testing.T) {
	var r Recorder
	now := time.Now()
	r.Record("extauth", provider.Decision{Cmd: "auth", Name: "ali\u202ece\x1b[31m", Result: "bad-password"}, now)
	for i := 0; i < 3*MaxRefusals; i++ {
		r.Record("extauth", provider.Decision{Cmd: "isuser", Name: "ghost", Result: "unknown-user"}, now)
		r.Record("httpauth", provider.Decision{Cmd: "user_exists", Name: "ghost", Result: "unknown-user"}, now)
	}
	got := r.Refusals()
	if len(got) != 1 || got[0].Cmd != "auth" || got[0].Name != `ali\u202ece\u001b[31m` {
		t.Fatalf("refusals: %+v", got)
	}
	if c := r.Totals(now); len(c) != 3 {
		t.Errorf("the lookups are not counted: %+v", c)
	}
}
