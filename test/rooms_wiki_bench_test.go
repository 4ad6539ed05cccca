package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/rooms"
)

// BenchmarkRoomSyncWiki syncs a generated wiki the size of a large public
// support site against a real ejabberd, and measures, in the same run,
// what ejabberd itself takes to serve the same requests from a minimal
// client: each phase's requests are recorded and replayed, room by room
// in the same order and as many rooms at once, on a twin set of rooms, with
// no wiki reads and no planning. That replay is the server's own limit.
//
// ejabberd slows as its rooms grow (a second replay of the first sync, on
// a third set of rooms, took 38 s against the first replay's 29 s), so
// whichever goes second would pay for the other. Two ejabberds run side
// by side: on the first, livechat-auth syncs and the replay follows; on
// the second, the replay goes first and livechat-auth follows. The ratio
// is of the sums, each side taken once first and once second.
//
// The wiki (LIVECHAT_ROOMS_USERS accounts, default 100,000, and
// LIVECHAT_ROOMS_ROOMS groups and rooms, default 200): each account in
// about 3 groups; rooms from 40 to 20,000 members (5 of 20,000, a quarter
// of 3,000, half of 600, the rest of 40); a Monitors group of 200 that
// owns every room, 20 of them through a nested group (Senior Monitors
// includes Monitors); 1 % of the memberships expired. Three phases: the
// first sync, a run with nothing changed, and a run after 1 % of the
// memberships moved to another group, which must make exactly the changes
// the move implies.
//
//	go test ./test -run '^$' -bench RoomSyncWiki -benchtime 1x -timeout 60m
func BenchmarkRoomSyncWiki(b *testing.B) {
	users, roomCount := envInt(b, "LIVECHAT_ROOMS_USERS", 100000), envInt(b, "LIVECHAT_ROOMS_ROOMS", 200)
	w := newWiki(b)
	const host = "chat.test"
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{host}, "")
	ctx := context.Background()
	// syncFirst: livechat-auth syncs, then the replay; replayFirst: the
	// other way round.
	var syncFirst, replayFirst *rooms.Client
	for _, c := range []**rooms.Client{&syncFirst, &replayFirst} {
		ej := startEjabberdWith(b, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
		client, err := rooms.Dial(ctx, rooms.DialConfig{Addr: fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), JID: jid.MustParse("syncbot@" + host), Password: "syncbot-pw", TLS: "none"})
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		*c = client
	}

	gen := generateWiki(users, roomCount)
	started := time.Now()
	gen.load(b, w)
	b.Logf("wiki: %d accounts, %d groups, %d memberships (%d expired), loaded in %s",
		users, roomCount, len(gen.memberships), gen.expired, time.Since(started).Round(time.Millisecond))

	store, err := wikidb.Open(w.ReaderDSN, wikidb.Config{QueryTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	syncer, err := rooms.New(provider.RoomMembers{Groups: store}, hclog.NewNullLogger(), rooms.Config{
		Rules: gen.rules(host), Domain: host, RoomTimeout: 5 * time.Minute,
		Defaults: rooms.Settings{Persistent: boolPtr(true), Moderated: boolPtr(false)},
	})
	if err != nil {
		b.Fatal(err)
	}

	// run syncs through chat and reports what it did, and the live heap.
	run := func(name string, chat rooms.Chat, client *rooms.Client) (rooms.Summary, float64) {
		reads, writes := client.Requests()
		runtime.GC()
		sum, err := syncer.Run(ctx, chat, false)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if err != nil {
			b.Fatal(err)
		}
		if f := sum.Failed(); len(f) > 0 {
			b.Fatalf("%s: %d rooms failed, first: %v", name, len(f), f[0].Err)
		}
		r2, w2 := client.Requests()
		sum.Reads, sum.Writes = r2-reads, w2-writes
		return sum, float64(m.HeapAlloc) / 1e6
	}
	phase := func(name string) rooms.Summary {
		rec := &recordingChat{Chat: syncFirst, calls: map[string][]chatCall{}}
		sum, heap := run(name, rec, syncFirst)
		after := rec.replay(b, ctx, syncFirst, 4)
		before := rec.replay(b, ctx, replayFirst, 4)
		sum2, heap2 := run(name, replayFirst, replayFirst)
		// Reads may differ: a room read before the wiki answered is read
		// again before it is changed.
		if sum2.Changed() != sum.Changed() || sum2.Writes != sum.Writes {
			b.Fatalf("%s: the two servers differ: %d changes, %d writes against %d, %d",
				name, sum.Changed(), sum.Writes, sum2.Changed(), sum2.Writes)
		}
		ratio := (sum.Elapsed + sum2.Elapsed).Seconds() / (after + before).Seconds()
		b.Logf("%s: %d rooms, %d changes, %d reads (%d on the other) + %d writes; livechat-auth %s first, %s second; the same requests from a minimal client %s second, %s first (÷ %.2f); heap %.0f MB, %.0f MB",
			name, len(sum.Rooms), sum.Changed(), sum.Reads, sum2.Reads, sum.Writes,
			sum.Elapsed.Round(time.Millisecond), sum2.Elapsed.Round(time.Millisecond),
			after.Round(time.Millisecond), before.Round(time.Millisecond), ratio, heap, heap2)
		key := strings.ReplaceAll(name, " ", "-")
		b.ReportMetric((sum.Elapsed+sum2.Elapsed).Seconds()/2, "s/"+key)
		b.ReportMetric(ratio, "x-limit/"+key)
		return sum
	}

	b.ResetTimer()
	phase("first")
	// Where a run's own time goes: reading the wiki's groups.
	started = time.Now()
	if _, err := syncer.Desired(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("reading the wiki's %d groups alone: %s", roomCount+1, time.Since(started).Round(time.Millisecond))
	if s := phase("unchanged"); s.Changed() != 0 || s.Writes != 0 {
		b.Errorf("a run with nothing changed made %d changes in %d writes", s.Changed(), s.Writes)
	}
	before := gen.desired()
	gen.move(b, w, len(gen.memberships)/100)
	want := diffDesired(before, gen.desired())
	if s := phase("1%-moved"); s.Changed() != want {
		b.Errorf("after 1%% of the memberships moved: %d changes, want exactly %d", s.Changed(), want)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.Logf("memory the process took from the system, at most (runtime Sys, the generator's included): %.0f MB", float64(m.Sys)/1e6)
	b.ReportMetric(float64(m.Sys)/1e6, "MB-sys")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 {
		b.Fatalf("%s=%q: want a number of at least 10", name, v)
	}
	return n
}

// wikiGen is a generated wiki: accounts 1…users, groups 0…rooms-1, each
// with its room, and their memberships.
type wikiGen struct {
	users, rooms int
	memberships  []membership
	expired      int
	monitors     []int // direct members of Monitors
	seniors      []int // members of Senior Monitors, which includes Monitors
	rng          *rand.Rand
}

type membership struct {
	user, group int
	expired     bool
}

func generateWiki(users, rooms int) *wikiGen {
	g := &wikiGen{users: users, rooms: rooms, rng: rand.New(rand.NewPCG(1, 2))}
	for r := range rooms {
		size := 40
		switch {
		case r < 5:
			size = 20000
		case r < rooms/4:
			size = 3000
		case r < rooms*3/4:
			size = 600
		}
		size = min(size*users/100000, users) // scaled to the wiki
		// size distinct accounts: a stride coprime with users from an
		// offset of the group's own.
		start, stride := g.rng.IntN(users), coprimeStride(users, 7919+2*r)
		for i := range size {
			m := membership{user: 1 + (start+i*stride)%users, group: r}
			if g.rng.IntN(100) == 0 {
				m.expired = true
				g.expired++
			}
			g.memberships = append(g.memberships, m)
		}
	}
	for i := 1; i <= 200 && i <= users; i++ {
		if i <= 20 {
			g.seniors = append(g.seniors, i)
		} else {
			g.monitors = append(g.monitors, i)
		}
	}
	return g
}

func coprimeStride(n, s int) int {
	for gcd(n, s) != 1 {
		s++
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func groupName(r int) string { return fmt.Sprintf("Team %03d", r) }

func roomJID(r int, host string) jid.JID {
	return jid.MustParse(fmt.Sprintf("team%03d@conference.%s", r, host))
}

// rules: each team's room for its members, every room owned by Monitors.
func (g *wikiGen) rules(host string) []rooms.Rule {
	var rules []rooms.Rule
	var all []jid.JID
	for r := range g.rooms {
		rules = append(rules, rooms.Rule{Group: groupName(r), Rooms: []jid.JID{roomJID(r, host)}, Affiliation: "member"})
		all = append(all, roomJID(r, host))
	}
	return append(rules, rooms.Rule{Group: "Monitors", Rooms: all, Affiliation: "owner"})
}

// load writes the accounts, groups and memberships in batches.
func (g *wikiGen) load(b *testing.B, w *wiki) {
	b.Helper()
	batches := func(rows []string, insert string) {
		for i := 0; i < len(rows); i += 5000 {
			mustExec(b, w.Root, insert+strings.Join(rows[i:min(i+5000, len(rows))], ","))
		}
	}
	var rows []string
	for u := 1; u <= g.users; u++ {
		rows = append(rows, fmt.Sprintf("(%d, 'w%06d', 'w%06d', '')", 1000000+u, u, u))
	}
	batches(rows, "INSERT INTO users_users (userId, login, livechat_id, hash) VALUES ")
	rows = []string{"('Monitors')", "('Senior Monitors')"}
	for r := range g.rooms {
		rows = append(rows, fmt.Sprintf("('%s')", groupName(r)))
	}
	mustExec(b, w.Root, "INSERT INTO users_groups (groupName) VALUES "+strings.Join(rows, ","))
	mustExec(b, w.Root, "INSERT INTO tiki_group_inclusion (groupName, includeGroup) VALUES ('Senior Monitors', 'Monitors')")
	rows = rows[:0]
	for _, m := range g.memberships {
		rows = append(rows, g.row(m))
	}
	for _, u := range g.monitors {
		rows = append(rows, fmt.Sprintf("(%d, 'Monitors', NULL)", 1000000+u))
	}
	for _, u := range g.seniors {
		rows = append(rows, fmt.Sprintf("(%d, 'Senior Monitors', NULL)", 1000000+u))
	}
	batches(rows, "INSERT INTO users_usergroups (userId, groupName, expire) VALUES ")
}

func (g *wikiGen) row(m membership) string {
	expire := "NULL"
	if m.expired {
		expire = "1" // long past
	}
	return fmt.Sprintf("(%d, '%s', %s)", 1000000+m.user, groupName(m.group), expire)
}

// move gives n memberships of accounts that are no monitors another
// group that account is not in.
func (g *wikiGen) move(b *testing.B, w *wiki, n int) {
	b.Helper()
	in := map[[2]int]bool{}
	for _, m := range g.memberships {
		in[[2]int{m.user, m.group}] = true
	}
	for moved := 0; moved < n; {
		i := g.rng.IntN(len(g.memberships))
		m := g.memberships[i]
		to := g.rng.IntN(g.rooms)
		if m.user <= 200 || m.expired || in[[2]int{m.user, to}] {
			continue
		}
		mustExec(b, w.Root, "DELETE FROM users_usergroups WHERE userId = ? AND groupName = ?", 1000000+m.user, groupName(m.group))
		delete(in, [2]int{m.user, m.group})
		m.group = to
		mustExec(b, w.Root, "INSERT INTO users_usergroups (userId, groupName, expire) VALUES "+g.row(m))
		in[[2]int{m.user, to}] = true
		g.memberships[i] = m
		moved++
	}
}

// desired is each room's affiliations as the rules give them: owner for
// every monitor (direct or through Senior Monitors), member for the
// team's other unexpired members.
func (g *wikiGen) desired() []map[int]string {
	out := make([]map[int]string, g.rooms)
	for r := range out {
		out[r] = map[int]string{}
	}
	for _, m := range g.memberships {
		if !m.expired {
			out[m.group][m.user] = "member"
		}
	}
	for _, room := range out {
		for _, u := range append(append([]int(nil), g.monitors...), g.seniors...) {
			room[u] = "owner"
		}
	}
	return out
}

// diffDesired counts the accounts whose affiliation differs, room by room.
func diffDesired(a, b []map[int]string) int {
	n := 0
	for r := range a {
		for u, aff := range a[r] {
			if b[r][u] != aff {
				n++
			}
		}
		for u := range b[r] {
			if _, ok := a[r][u]; !ok {
				n++
			}
		}
	}
	return n
}

// recordingChat passes a sync run's requests to the chat server and
// records them, room by room, to be replayed.
type recordingChat struct {
	rooms.Chat
	mu    sync.Mutex
	order []string
	calls map[string][]chatCall
}

// chatCall is one recorded request: its replay on another room.
type chatCall func(ctx context.Context, c rooms.Chat, room jid.JID) error

func (r *recordingChat) add(room jid.JID, call chatCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := room.Bare().String()
	if _, ok := r.calls[key]; !ok {
		r.order = append(r.order, key)
	}
	r.calls[key] = append(r.calls[key], call)
}

func (r *recordingChat) Exists(ctx context.Context, room jid.JID) (bool, error) {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { _, err := c.Exists(ctx, room); return err })
	return r.Chat.Exists(ctx, room)
}

func (r *recordingChat) Create(ctx context.Context, room jid.JID, s rooms.Settings) error {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { return c.Create(ctx, room, s) })
	return r.Chat.Create(ctx, room, s)
}

func (r *recordingChat) Config(ctx context.Context, room jid.JID) (map[string]string, error) {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { _, err := c.Config(ctx, room); return err })
	return r.Chat.Config(ctx, room)
}

func (r *recordingChat) Configure(ctx context.Context, room jid.JID, fields map[string]string) error {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { return c.Configure(ctx, room, fields) })
	return r.Chat.Configure(ctx, room, fields)
}

func (r *recordingChat) Affiliations(ctx context.Context, room jid.JID) (map[string]string, error) {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error {
		_, err := c.Affiliations(ctx, room)
		return err
	})
	return r.Chat.Affiliations(ctx, room)
}

func (r *recordingChat) SetAffiliations(ctx context.Context, room jid.JID, changes []rooms.Change) error {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error {
		return c.SetAffiliations(ctx, room, changes)
	})
	return r.Chat.SetAffiliations(ctx, room, changes)
}

func (r *recordingChat) Record(ctx context.Context, room jid.JID) (rooms.Record, error) {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { _, err := c.Record(ctx, room); return err })
	return r.Chat.Record(ctx, room)
}

func (r *recordingChat) SetRecord(ctx context.Context, room jid.JID, rec rooms.Record) error {
	r.add(room, func(ctx context.Context, c rooms.Chat, room jid.JID) error { return c.SetRecord(ctx, room, rec) })
	return r.Chat.SetRecord(ctx, room, rec)
}

// replay sends the recorded requests again through chat, to each room's
// twin (team007@… → team007-twin@…), parallel rooms at once, each room's
// in their order, and returns how long the chat server took. The twins go
// through the same states as the rooms, so every request meets what it
// met the first time.
func (r *recordingChat) replay(b *testing.B, ctx context.Context, chat rooms.Chat, parallel int) time.Duration {
	b.Helper()
	next := make(chan string)
	errs := make(chan error, len(r.order))
	started := time.Now()
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for key := range next {
				room := jid.MustParse(key)
				twin := jid.MustParse(room.Localpart() + "-twin@" + room.Domainpart())
				for _, call := range r.calls[key] {
					if err := call(ctx, chat, twin); err != nil {
						errs <- fmt.Errorf("%s: %w", twin, err)
						break
					}
				}
			}
		})
	}
	for _, key := range r.order {
		next <- key
	}
	close(next)
	wg.Wait()
	took := time.Since(started)
	close(errs)
	for err := range errs {
		b.Fatalf("replay: %v", err)
	}
	return took
}

// TestRoomSyncLargeRoom: one room of 6,000 new members, whose changes in
// one request would pass ejabberd's max_stanza_size (256 KiB here, as in
// its example configuration) and end the sync account's stream. They go
// in requests under the limit, every one is made, and a second run
// changes nothing; the record of what the sync granted, too large for one
// stanza as well, is kept in parts and read back whole.
func TestRoomSyncLargeRoom(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
	var rows []string
	for u := 1; u <= 6000; u++ {
		rows = append(rows, fmt.Sprintf("(%d, 'w%06d', 'w%06d', '')", 1000000+u, u, u))
	}
	mustExec(t, w.Root, "INSERT INTO users_users (userId, login, livechat_id, hash) VALUES "+strings.Join(rows, ","))
	mustExec(t, w.Root, "INSERT INTO users_groups (groupName) VALUES ('Crowd')")
	rows = rows[:0]
	for u := 1; u <= 6000; u++ {
		rows = append(rows, fmt.Sprintf("(%d, 'Crowd')", 1000000+u))
	}
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName) VALUES "+strings.Join(rows, ","))

	store, err := wikidb.Open(w.ReaderDSN, wikidb.Config{QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	room := jid.MustParse("crowd@conference." + host)
	syncer, err := rooms.New(provider.RoomMembers{Groups: store}, hclog.NewNullLogger(), rooms.Config{
		Rules:  []rooms.Rule{{Group: "Crowd", Rooms: []jid.JID{room}, Affiliation: "member"}},
		Domain: host, RoomTimeout: time.Minute,
		Defaults: rooms.Settings{Persistent: boolPtr(true), Moderated: boolPtr(false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client, err := rooms.Dial(ctx, rooms.DialConfig{Addr: fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), JID: jid.MustParse("syncbot@" + host), Password: "syncbot-pw", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i, want := range []int{6000, 0} {
		_, before := client.Requests()
		sum, err := syncer.Run(ctx, client, false)
		if err != nil {
			t.Fatal(err)
		}
		_, after := client.Requests()
		if f := sum.Failed(); len(f) > 0 {
			t.Fatalf("run %d: %v", i+1, f[0].Err)
		}
		if sum.Changed() != want {
			t.Errorf("run %d: %d changes, want %d", i+1, sum.Changed(), want)
		}
		t.Logf("run %d: %d changes in %d writes, %s", i+1, sum.Changed(), after-before, sum.Elapsed.Round(time.Millisecond))
	}
	affs, err := client.Affiliations(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for _, a := range affs {
		if a == "member" {
			members++
		}
	}
	if members != 6000 {
		t.Errorf("the room lists %d members, want 6,000", members)
	}

	// The sync's record of what it granted (108 KB of JIDs) is kept in
	// parts; the last 100 members are in the last part. They leave the
	// group: the run must know it granted them, and takes them out.
	mustExec(t, w.Root, "DELETE FROM users_usergroups WHERE groupName = 'Crowd' AND userId > ?", 1000000+5900)
	sum, err := syncer.Run(ctx, client, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Changed() != 100 {
		t.Errorf("after 100 members left the group: %d changes, want 100", sum.Changed())
	}
}
