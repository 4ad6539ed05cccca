package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"livechat-auth/provider"
)

// TestObserverStartsAtZeroAndCounts: the series of an edge's commands
// exist before the first decision, and each decision counts once, with a
// cache hit and a database error counted apart.
func TestObserverStartsAtZeroAndCounts(t *testing.T) {
	m := New(Build{Version: "test"})
	observe := m.Observer("extauth", "auth")
	want(t, m,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"} 0`,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="bad-password"} 0`,
		`livechat_auth_cache_hits_total{edge="extauth"} 0`,
		`livechat_auth_build_info{goversion="",revision="",version="test"} 1`)
	observe(provider.Decision{Cmd: "auth", Result: provider.ResultAccepted, Took: time.Millisecond, CacheHit: true})
	observe(provider.Decision{Cmd: "auth", Result: provider.ResultDBUnavailable, Took: time.Millisecond})
	want(t, m,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"} 1`,
		`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="db-unavailable"} 1`,
		`livechat_auth_cache_hits_total{edge="extauth"} 1`,
		`livechat_auth_db_errors_total{edge="extauth"} 1`,
		`livechat_auth_decision_seconds_count{cmd="auth",edge="extauth"} 2`)
}

func TestRoomSyncResults(t *testing.T) {
	for _, tc := range []struct {
		name            string
		changed, failed int
		err             error
		result          string
	}{
		{"ok", 3, 0, nil, "ok"},
		{"partial", 1, 2, nil, "partial"},
		{"failed", 0, 0, io.ErrUnexpectedEOF, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Build{})
			m.RoomSync(tc.changed, tc.failed, tc.err)
			want(t, m,
				`livechat_auth_room_sync_runs_total{result="`+tc.result+`"} 1`,
				fmt.Sprintf("livechat_auth_room_changes_total %d", tc.changed),
				fmt.Sprintf("livechat_auth_room_failures_total %d", tc.failed))
		})
	}
}

// TestStateOutages: each time the shared state stops answering is one
// outage; coming back sets the gauge only.
func TestStateOutages(t *testing.T) {
	m := New(Build{})
	m.StateUp(false)
	m.StateUp(true)
	m.StateUp(false)
	want(t, m, "livechat_auth_shared_state_outages_total 2", "livechat_auth_shared_state_up 0")
}

// want checks that a scrape of m holds each of lines whole.
func want(t *testing.T, m *Series, lines ...string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := map[string]bool{}
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		got[l] = true
	}
	for _, l := range lines {
		if !got[l] {
			t.Errorf("no line %q in the scrape", l)
		}
	}
}
