package rooms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"
)

// gateWiki answers once open is closed, then closes answered.
type gateWiki struct {
	fakeMembers
	open     chan struct{}
	answered chan struct{}
	err      error
}

func (w gateWiki) GroupMembers(ctx context.Context, groups []string) (map[string][]string, error) {
	<-w.open
	defer func() {
		if w.answered != nil {
			close(w.answered)
		}
	}()
	if w.err != nil {
		return nil, w.err
	}
	return w.fakeMembers.GroupMembers(ctx, groups)
}

// handBan: right after the room's lists were read (before the wiki
// answered), a room owner bans alice by hand; then the wiki answers.
type handBan struct {
	*fakeChat
	once sync.Once
	open chan struct{}
}

func (c *handBan) Record(ctx context.Context, room jid.JID) (Record, error) {
	r, err := c.fakeChat.Record(ctx, room)
	c.once.Do(func() {
		c.mu.Lock()
		c.rooms[room.String()]["alice@chat.test"] = "outcast" // hand-set ban
		c.mu.Unlock()
		close(c.open)
	})
	return r, err
}

// A ban set by hand after a room was read, while the wiki was still being
// read, stands: a room set aside is read again before anything is
// written (docs/rooms.md: an affiliation the record does not hold is
// never changed).
func TestRunRereadsARoomSetAsideBeforeWriting(t *testing.T) {
	open := make(chan struct{})
	s := newSyncer(t, gateWiki{fakeMembers: fakeMembers{"Support": {"alice"}}, open: open}, Rule{"Support", []jid.JID{monitors}, "member"})
	chat := &handBan{fakeChat: newFakeChat(), open: open}
	chat.rooms[monitors.String()] = map[string]string{"sync@chat.test": "owner"}
	chat.records[monitors.String()] = Record{recordStarted: true} // not the first run
	_, err := s.Run(context.Background(), chat, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := chat.rooms[monitors.String()]["alice@chat.test"]; got != "outcast" {
		t.Errorf("alice is %q: the hand-set ban made after the read was overwritten", got)
	}
}

// orderChat logs each room's first read and its first write.
type orderChat struct {
	*fakeChat
	mu       sync.Mutex
	log      []string
	answered chan struct{}
	open     chan struct{}
	once     sync.Once
}

func (c *orderChat) add(s string) { c.mu.Lock(); c.log = append(c.log, s); c.mu.Unlock() }

func (c *orderChat) Exists(ctx context.Context, room jid.JID) (bool, error) {
	c.add("read " + room.Localpart())
	if room.Localpart() == "room1" {
		<-c.answered // room0 was read before the wiki answered
		time.Sleep(10 * time.Millisecond)
	}
	return c.fakeChat.Exists(ctx, room)
}

func (c *orderChat) Record(ctx context.Context, room jid.JID) (Record, error) {
	r, err := c.fakeChat.Record(ctx, room)
	c.once.Do(func() { close(c.open) })
	return r, err
}

func (c *orderChat) SetAffiliations(ctx context.Context, room jid.JID, ch []Change) error {
	c.add("write " + room.Localpart())
	return c.fakeChat.SetAffiliations(ctx, room, ch)
}

// Rooms read before the wiki answered are finished as soon as it has,
// before any further room is read, not after every other room.
func TestRunFinishesRoomsSetAsideFirst(t *testing.T) {
	var all []jid.JID
	for i := range 5 {
		all = append(all, jid.MustParse(fmt.Sprintf("room%d@conference.chat.test", i)))
	}
	open, answered := make(chan struct{}), make(chan struct{})
	s, err := New(gateWiki{fakeMembers: fakeMembers{"S": {"alice"}}, open: open, answered: answered}, hclog.NewNullLogger(),
		Config{Rules: []Rule{{"S", all, "member"}}, Domain: "chat.test", Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	chat := &orderChat{fakeChat: newFakeChat(), answered: answered, open: open}
	for _, r := range all {
		chat.rooms[r.String()] = map[string]string{}
	}
	if _, err := s.Run(context.Background(), chat, false); err != nil {
		t.Fatal(err)
	}
	if chat.log[len(chat.log)-1] == "write room0" {
		t.Errorf("room0, read first, was written last: %v", chat.log)
	}
}

// A Syncer whose rules name no room (rooms.New accepts it) still waits for
// the wiki and returns its error.
func TestRunWithoutRoomsReturnsTheWikisError(t *testing.T) {
	open := make(chan struct{})
	close(open)
	s, err := New(gateWiki{open: open, err: errors.New("database down")}, hclog.NewNullLogger(),
		Config{Rules: []Rule{{Group: "Nope", Affiliation: "member"}}, Domain: "chat.test"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(context.Background(), newFakeChat(), false)
	if err == nil {
		t.Errorf("Run = nil; the wiki failed")
	}
}

// With no rules at all, Run still waits for its wiki read (-race).
func TestRunWithoutRulesWaitsForTheWiki(t *testing.T) {
	s, err := New(fakeMembers{}, hclog.NewNullLogger(), Config{Domain: "chat.test"})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := s.Run(context.Background(), newFakeChat(), false); err != nil {
			t.Fatal(err)
		}
	}
}

// slowChat takes d for every read and every write.
type slowChat struct {
	*fakeChat
	d time.Duration
}

func (c slowChat) wait(ctx context.Context) error {
	select {
	case <-time.After(c.d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (c slowChat) Affiliations(ctx context.Context, room jid.JID) (map[string]string, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.fakeChat.Affiliations(ctx, room)
}
func (c slowChat) SetAffiliations(ctx context.Context, room jid.JID, ch []Change) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.fakeChat.SetAffiliations(ctx, room, ch)
}

// rooms.room_timeout bounds one room's whole work, its read and its
// writes together: 100 ms to read the lists, 100 ms to change them and
// 100 ms to read them back pass a bound of 250 ms.
func TestRoomTimeoutBoundsReadAndWrite(t *testing.T) {
	s, err := New(fakeMembers{"S": {"alice"}}, hclog.NewNullLogger(),
		Config{Rules: []Rule{{"S", []jid.JID{monitors}, "member"}}, Domain: "chat.test", RoomTimeout: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chat := slowChat{newFakeChat(), 100 * time.Millisecond}
	chat.rooms[monitors.String()] = map[string]string{}
	sum, err := s.Run(context.Background(), chat, false)
	if err != nil || !errors.Is(sum.Rooms[0].Err, context.DeadlineExceeded) {
		t.Fatalf("err %v, room: %v; want the room's deadline passed", err, sum.Rooms[0].Err)
	}
}
