package status

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/xmpp/rooms"
)

// TestSnapshot: the health checks name what failed on one line, the room
// sync shows its last run, and sections that are off stay nil.
func TestSnapshot(t *testing.T) {
	cfg := config.Default()
	cfg.Rooms.Rules = []config.RoomRule{{}}
	cfg.Rooms.Interval = time.Minute
	guard := time.Now()
	room := jid.MustParse("lobby@rooms.test")
	asked := 0
	in := Input{
		Config:    cfg,
		Version:   "v1",
		PingWiki:  func(context.Context) error { return errors.New("dial tcp:\nrefused") },
		Locks:     []provider.Lock{{Name: "alice"}},
		LastSync:  &SyncRun{At: guard, Summary: rooms.Summary{Rooms: []rooms.RoomResult{{Room: room, Err: errors.New("gone")}}}},
		Migration: func(context.Context) *Migration { asked++; return &Migration{Accounts: 3} },
		LastGuard: &guard,
	}
	s := in.Snapshot(context.Background())
	if len(s.Health) != 1 || s.Health[0].OK || s.Health[0].Detail != "dial tcp: refused" {
		t.Errorf("health %+v", s.Health)
	}
	if s.RoomSync == nil || s.RoomSync.Rooms != 1 || !slices.Equal(s.RoomSync.Failed, []string{"lobby@rooms.test"}) || !s.RoomSync.DryRunAvailable {
		t.Errorf("room sync %+v", s.RoomSync)
	}
	if asked != 1 || s.Migration.Accounts != 3 || s.Version != "v1" || len(s.Locks) != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if s.EndSessions != nil {
		t.Errorf("end sessions shown while off: %+v", s.EndSessions)
	}
	if on := strings.Join(FeaturesOn(cfg), ","); !strings.Contains(on, "room sync") {
		t.Errorf("features on: %s", on)
	}
}

// TestDryRunLines: one line a failure, a room to create and a change.
func TestDryRunLines(t *testing.T) {
	room := jid.MustParse("lobby@rooms.test")
	got := DryRunLines(rooms.Summary{Rooms: []rooms.RoomResult{{Room: room, Created: true, Err: errors.New("refused"),
		Changes: []rooms.Change{{JID: "alice@chat.test", Affiliation: "member", Was: "none"}}}}})
	want := []string{"lobby@rooms.test: FAILED: refused", "lobby@rooms.test: would be created", "lobby@rooms.test: alice@chat.test: none -> member"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %q; want %q", got, want)
	}
}
