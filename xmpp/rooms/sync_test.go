package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"
)

type fakeMembers map[string][]string

func (f fakeMembers) GroupMembers(_ context.Context, groups []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, g := range groups {
		if g == "broken" {
			return nil, errors.New("database down")
		}
		out[g] = f[g]
	}
	return out, nil
}

// fakeChat is an in-memory MUC service that counts writes.
type fakeChat struct {
	mu      sync.Mutex                   // rooms are synced side by side
	rooms   map[string]map[string]string // room → jid → affiliation
	config  map[string]map[string]string
	records map[string]Record
	fail    string          // a room whose every request fails
	refuse  map[string]bool // JIDs whose changes are refused, with the whole batch (as ejabberd does)
	first   bool            // apply only a batch's first item (as Prosody 0.12 does)
	noStore bool            // private storage refuses writes
	writes  int
}

func newFakeChat() *fakeChat {
	return &fakeChat{rooms: map[string]map[string]string{}, config: map[string]map[string]string{}, records: map[string]Record{}, refuse: map[string]bool{}}
}

func (f *fakeChat) Record(_ context.Context, room jid.JID) (Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := Record{}
	for g := range f.records[room.String()] {
		r[g] = true
	}
	return r, f.check(room)
}

func (f *fakeChat) SetRecord(_ context.Context, room jid.JID, r Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.noStore {
		return errors.New("service-unavailable")
	}
	f.records[room.String()] = r
	return f.check(room)
}

func (f *fakeChat) Self() jid.JID { return jid.MustParse("sync@chat.test") }

func (f *fakeChat) check(room jid.JID) error {
	if room.String() == f.fail {
		return errors.New("remote-server-timeout")
	}
	return nil
}

func (f *fakeChat) Exists(_ context.Context, room jid.JID) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.rooms[room.String()]
	return ok, f.check(room)
}

func (f *fakeChat) Create(_ context.Context, room jid.JID, s Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.rooms[room.String()] = map[string]string{"sync@chat.test": "owner"}
	f.config[room.String()] = s.fields()
	return f.check(room)
}

func (f *fakeChat) Config(_ context.Context, room jid.JID) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config[room.String()], f.check(room)
}

func (f *fakeChat) Configure(_ context.Context, room jid.JID, fields map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.config[room.String()] == nil {
		f.config[room.String()] = map[string]string{}
	}
	for k, v := range fields {
		f.config[room.String()][k] = v
	}
	return f.check(room)
}

func (f *fakeChat) Affiliations(_ context.Context, room jid.JID) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.rooms[room.String()] {
		out[k] = v
	}
	return out, f.check(room)
}

func (f *fakeChat) SetAffiliations(_ context.Context, room jid.JID, changes []Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	for _, c := range changes {
		if f.refuse[c.JID] {
			return errors.New("not-allowed")
		}
	}
	if f.first {
		changes = changes[:1]
	}
	for _, c := range changes {
		if c.Affiliation == "none" {
			delete(f.rooms[room.String()], c.JID)
		} else {
			f.rooms[room.String()][c.JID] = c.Affiliation
		}
	}
	return f.check(room)
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func newSyncer(t *testing.T, members Members, rules ...Rule) *Syncer {
	t.Helper()
	s, err := New(members, hclog.NewNullLogger(), Config{
		Rules: rules, Domain: "chat.test",
		Defaults: Settings{Persistent: yes(), Moderated: no()},
		Settings: map[string]Settings{"support@conference.chat.test": {Name: "Support", Persistent: yes(), MembersOnly: yes(), Moderated: no()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var support, monitors = jid.MustParse("support@conference.chat.test"), jid.MustParse("monitors@conference.chat.test")

func TestDesiredPrecedence(t *testing.T) {
	s := newSyncer(t, fakeMembers{"Room Monitors": {"alice"}, "Support Team": {"alice", "bob"}, "Banned": {"bob"}},
		Rule{"Support Team", []jid.JID{support}, "member"},
		Rule{"Room Monitors", []jid.JID{support, monitors}, "admin"},
		Rule{"Banned", []jid.JID{support}, "outcast"},
	)
	d, err := s.Desired(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(d["support@conference.chat.test"], d["monitors@conference.chat.test"])
	if got != "map[alice@chat.test:admin bob@chat.test:outcast] map[alice@chat.test:admin]" {
		t.Fatalf("desired %s", got)
	}
}

func TestRunConvergesAndIsIdempotent(t *testing.T) {
	members := fakeMembers{"Room Monitors": {"alice"}, "Support Team": {"bob", "carol"}}
	s := newSyncer(t, members,
		Rule{"Room Monitors", []jid.JID{support, monitors}, "owner"},
		Rule{"Support Team", []jid.JID{support}, "member"})
	chat := newFakeChat()
	chat.rooms["monitors@conference.chat.test"] = map[string]string{"guest@elsewhere.test": "member", "old@chat.test": "owner", "handset@chat.test": "outcast"}
	chat.config["monitors@conference.chat.test"] = map[string]string{"muc#roomconfig_persistentroom": "0"}
	ctx := context.Background()

	// Dry run: reads only.
	sum, err := s.Run(ctx, chat, true)
	if err != nil || chat.writes != 0 || sum.Changed() != 4 {
		t.Fatalf("dry run: %v, %d writes, %d changes", err, chat.writes, sum.Changed())
	}
	sum, err = s.Run(ctx, chat, false)
	if err != nil || len(sum.Failed()) != 0 {
		t.Fatalf("run: %v %+v", err, sum.Failed())
	}
	if got := fmt.Sprint(chat.rooms["support@conference.chat.test"]); got != "map[alice@chat.test:owner bob@chat.test:member carol@chat.test:member sync@chat.test:owner]" {
		t.Errorf("support %s", got)
	}
	if got := fmt.Sprint(chat.rooms["monitors@conference.chat.test"]); got != "map[alice@chat.test:owner guest@elsewhere.test:member handset@chat.test:outcast old@chat.test:owner]" {
		t.Errorf("monitors %s: other domains, hand-set affiliations and an owner no rule granted kept", got)
	}
	if chat.config["monitors@conference.chat.test"]["muc#roomconfig_persistentroom"] != "1" {
		t.Error("settings not enforced")
	}
	writes := chat.writes
	if sum, _ := s.Run(ctx, chat, false); sum.Changed() != 0 || chat.writes != writes {
		t.Errorf("second run: %d changes, %d more writes", sum.Changed(), chat.writes-writes)
	}
	// carol leaves the group.
	members["Support Team"] = []string{"bob"}
	sum, _ = s.Run(ctx, chat, false)
	if sum.Changed() != 1 || sum.Rooms[1].Changes[0].String() != "carol@chat.test: member -> none" {
		t.Errorf("after carol left: %+v", sum.Rooms)
	}
}

func TestRunGoesOnAfterAFailingRoom(t *testing.T) {
	s := newSyncer(t, fakeMembers{"Room Monitors": {"alice"}}, Rule{"Room Monitors", []jid.JID{monitors, support}, "admin"})
	chat := newFakeChat()
	chat.fail = "monitors@conference.chat.test"
	sum, err := s.Run(context.Background(), chat, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed()) != 1 || !strings.Contains(sum.Failed()[0].Err.Error(), "remote-server-timeout") {
		t.Errorf("failed %+v", sum.Failed())
	}
	if chat.rooms["support@conference.chat.test"]["alice@chat.test"] != "admin" {
		t.Error("the other room was not synced")
	}
}

func TestRunWithUnreadableWikiChangesNothing(t *testing.T) {
	lobby := jid.MustParse("lobby@conference.chat.test") // does not exist yet
	s := newSyncer(t, fakeMembers{}, Rule{"broken", []jid.JID{support, lobby}, "member"})
	chat := newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{"bob@chat.test": "member"}
	if _, err := s.Run(context.Background(), chat, false); err == nil || chat.writes != 0 {
		t.Fatalf("err %v, %d writes: an unreadable wiki must not empty or create rooms", err, chat.writes)
	}
}

// slowWiki answers only once release is closed.
type slowWiki struct {
	fakeMembers
	release chan struct{}
}

func (w slowWiki) GroupMembers(ctx context.Context, groups []string) (map[string][]string, error) {
	select {
	case <-w.release:
	case <-time.After(5 * time.Second):
		return nil, errors.New("the rooms were not read while the wiki was")
	}
	return w.fakeMembers.GroupMembers(ctx, groups)
}

// readsFirst is a chat that closes read once every room's record has
// been read.
type readsFirst struct {
	*fakeChat
	unread int
	mu     sync.Mutex
	read   chan struct{}
}

func (c *readsFirst) Record(ctx context.Context, room jid.JID) (Record, error) {
	c.mu.Lock()
	if c.unread--; c.unread == 0 {
		close(c.read)
	}
	c.mu.Unlock()
	return c.fakeChat.Record(ctx, room)
}

func TestRunReadsTheRoomsWhileTheWikiIsRead(t *testing.T) {
	// Ten rooms, four workers: every room is read before the wiki answers.
	var all []jid.JID
	for i := range 10 {
		all = append(all, jid.MustParse(fmt.Sprintf("room%d@conference.chat.test", i)))
	}
	read := make(chan struct{})
	s := newSyncer(t, slowWiki{fakeMembers{"Support": {"alice"}}, read}, Rule{"Support", all, "member"})
	chat := &readsFirst{fakeChat: newFakeChat(), unread: len(all), read: read}
	for _, r := range all {
		chat.rooms[r.String()] = map[string]string{"bob@chat.test": "member"}
	}
	sum, err := s.Run(context.Background(), chat, false)
	if err != nil || len(sum.Failed()) > 0 || sum.Changed() != len(all) {
		t.Fatalf("err %v, failed %v, %d changes; want alice in every room", err, sum.Failed(), sum.Changed())
	}
}

func TestNewRefusesUnknownAffiliation(t *testing.T) {
	if _, err := New(fakeMembers{}, hclog.NewNullLogger(), Config{Domain: "d", Rules: []Rule{{Group: "g", Affiliation: "moderator"}}}); err == nil {
		t.Fatal("accepted")
	}
}

func TestSyncAccountAndSettingsOnlyRoomsAreLeftAlone(t *testing.T) {
	// The sync account is itself in the group; a room has settings but no rule.
	s := newSyncer(t, fakeMembers{"Everyone": {"sync", "alice"}}, Rule{"Everyone", []jid.JID{monitors}, "member"})
	chat := newFakeChat()
	chat.rooms["monitors@conference.chat.test"] = map[string]string{"sync@chat.test": "owner"}
	chat.rooms["support@conference.chat.test"] = map[string]string{"carol@chat.test": "owner", "dave@chat.test": "outcast"}
	sum, err := s.Run(context.Background(), chat, false)
	if err != nil {
		t.Fatal(err)
	}
	if chat.rooms["monitors@conference.chat.test"]["sync@chat.test"] != "owner" {
		t.Error("the sync account demoted itself")
	}
	if got := fmt.Sprint(chat.rooms["support@conference.chat.test"]); got != "map[carol@chat.test:owner dave@chat.test:outcast]" {
		t.Errorf("a room with settings but no rule was changed: %s", got)
	}
	if len(sum.Rooms) != 1 {
		t.Errorf("%d rooms synced, want the one named by a rule", len(sum.Rooms))
	}
}

// TestOnlyWhatTheSyncGrantedIsTakenBack: an owner no rule granted (an
// earlier sync account, a human owner) stays, even when the rules grant
// owners in that room or name that JID for less; what the sync granted
// goes when the rules stop granting it.
func TestOnlyWhatTheSyncGrantedIsTakenBack(t *testing.T) {
	members := fakeMembers{"Room Monitors": {"alice"}, "Editors": {"human"}}
	s := newSyncer(t, members,
		Rule{"Room Monitors", []jid.JID{support}, "owner"},
		Rule{"Editors", []jid.JID{support}, "member"})
	chat := newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{"oldsync@chat.test": "owner", "human@chat.test": "owner", "sync@chat.test": "owner"}
	ctx := context.Background()
	if sum, err := s.Run(ctx, chat, false); err != nil || len(sum.Failed()) != 0 || sum.Changed() != 1 {
		t.Fatalf("first run: %v, %+v", err, sum.Rooms)
	}
	want := "map[alice@chat.test:owner human@chat.test:owner oldsync@chat.test:owner sync@chat.test:owner]"
	if got := fmt.Sprint(chat.rooms["support@conference.chat.test"]); got != want {
		t.Fatalf("after the first run: %s, want %s", got, want)
	}
	if got := fmt.Sprint(chat.records["support@conference.chat.test"]); got != "map[{ }:true {alice@chat.test owner}:true]" { // { }: the record has been started
		t.Errorf("record %s", got)
	}
	// alice leaves Room Monitors; the human leaves Editors.
	members["Room Monitors"], members["Editors"] = nil, nil
	sum, err := s.Run(ctx, chat, false)
	if err != nil || sum.Changed() != 1 || sum.Rooms[0].Changes[0].String() != "alice@chat.test: owner -> none" {
		t.Fatalf("second run: %v, %+v", err, sum.Rooms)
	}
	if got := fmt.Sprint(chat.rooms["support@conference.chat.test"]); got != "map[human@chat.test:owner oldsync@chat.test:owner sync@chat.test:owner]" {
		t.Errorf("after alice left: %s", got)
	}
	if r := chat.records["support@conference.chat.test"]; len(r) != 1 || !r[recordStarted] {
		t.Errorf("record %v, want no grant", r)
	}
}

// TestHandSetOwnerNeverAdopted: once a room's record exists, an owner set
// by hand who later joins a rule's group is not taken into the record,
// so leaving the group again does not take away what was set by hand.
func TestHandSetOwnerNeverAdopted(t *testing.T) {
	members := fakeMembers{"Room Monitors": {"alice"}}
	s := newSyncer(t, members, Rule{"Room Monitors", []jid.JID{support}, "owner"})
	chat := newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{"sync@chat.test": "owner"}
	ctx := context.Background()
	if _, err := s.Run(ctx, chat, false); err != nil {
		t.Fatal(err)
	}
	chat.rooms["support@conference.chat.test"]["carol@chat.test"] = "owner" // by hand
	members["Room Monitors"] = []string{"alice", "carol"}
	if sum, err := s.Run(ctx, chat, false); err != nil || sum.Changed() != 0 {
		t.Fatalf("carol joins the group: %v, %+v", err, sum.Rooms)
	}
	if chat.records["support@conference.chat.test"][Grant{"carol@chat.test", "owner"}] {
		t.Fatal("the hand-set owner was adopted into the record")
	}
	members["Room Monitors"] = []string{"alice"}
	if sum, err := s.Run(ctx, chat, false); err != nil || sum.Changed() != 0 {
		t.Fatalf("carol leaves the group: %v, %+v", err, sum.Rooms)
	}
	if got := chat.rooms["support@conference.chat.test"]["carol@chat.test"]; got != "owner" {
		t.Fatalf("the hand-set owner became %q", got)
	}
}

// TestRefusedChangesAreNotCounted: the server refuses one change and
// with it the whole batch; the others are sent one by one, and only what
// the lists show made is counted.
func TestRefusedChangesAreNotCounted(t *testing.T) {
	s := newSyncer(t, fakeMembers{"Former Staff": {"boss", "walter"}}, Rule{"Former Staff", []jid.JID{support}, "outcast"})
	chat := newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{}
	chat.refuse["boss@chat.test"] = true
	sum, err := s.Run(context.Background(), chat, false)
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Rooms[0]
	if sum.Changed() != 1 || len(r.Changes) != 1 || r.Changes[0].JID != "walter@chat.test" ||
		len(r.Refused) != 1 || r.Refused[0].JID != "boss@chat.test" || r.Err == nil || !strings.Contains(r.Err.Error(), "not-allowed") {
		t.Fatalf("changed %d, result %+v", sum.Changed(), r)
	}
	if chat.records["support@conference.chat.test"][Grant{"boss@chat.test", "outcast"}] {
		t.Error("the record holds a refused grant")
	}
	// A server applying only a batch's first item: the rest go one by one.
	chat = newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{}
	chat.first = true
	if sum, _ := s.Run(context.Background(), chat, false); sum.Changed() != 2 || len(sum.Failed()) != 0 {
		t.Fatalf("first-item server: changed %d, failed %+v", sum.Changed(), sum.Failed())
	}
}

// TestNoChangeWithoutARecord: a record that cannot be stored stops the
// room before any change is sent.
func TestNoChangeWithoutARecord(t *testing.T) {
	s := newSyncer(t, fakeMembers{"Room Monitors": {"alice"}}, Rule{"Room Monitors", []jid.JID{support}, "owner"})
	chat := newFakeChat()
	chat.rooms["support@conference.chat.test"] = map[string]string{}
	chat.config["support@conference.chat.test"] = Settings{Name: "Support", Persistent: yes(), MembersOnly: yes(), Moderated: no()}.fields()
	chat.noStore = true
	sum, _ := s.Run(context.Background(), chat, false)
	if len(sum.Failed()) != 1 || sum.Changed() != 0 || len(chat.rooms["support@conference.chat.test"]) != 0 {
		t.Fatalf("changed %d, room %v, failed %+v", sum.Changed(), chat.rooms["support@conference.chat.test"], sum.Failed())
	}
}
