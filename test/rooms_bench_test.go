package test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/rooms"
)

// BenchmarkRoomSyncScale: 10,000 wiki users and 50 rooms (5 with 2,000
// members, 45 with 100, and 20 monitors as admins of all) against a real
// ejabberd. It reports the time to converge from empty, the time of a
// run with nothing to change, the requests sent against the minimal
// number of changes, and memory.
//
//	go test ./test -run '^$' -bench RoomSyncScale -benchtime 1x
func BenchmarkRoomSyncScale(b *testing.B) {
	w := newWiki(b)
	const host = "chat.test"
	cfgPath, _ := writeConfig(b, b.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(b, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})

	// 10,000 users, u00001…u10000, in 50 teams and one monitors group.
	var groups, memberships []string
	for u := 1; u <= 10000; u += 1000 {
		var rows []string
		for i := u; i < u+1000; i++ {
			rows = append(rows, fmt.Sprintf("(%d, 'user%05d', 'u%05d', '')", 100000+i, i, i))
		}
		mustExec(b, w.Root, "INSERT INTO users_users (userId, login, livechat_id, hash) VALUES "+strings.Join(rows, ","))
	}
	var rules []rooms.Rule
	next := 1
	for r := 1; r <= 50; r++ {
		size := 100
		if r <= 5 {
			size = 2000
		}
		group := fmt.Sprintf("Team %02d", r)
		groups = append(groups, fmt.Sprintf("('%s')", group))
		for i := 0; i < size; i++ {
			memberships = append(memberships, fmt.Sprintf("(%d, '%s')", 100000+next, group))
			next = next%10000 + 1
		}
		rules = append(rules, rooms.Rule{Group: group, Rooms: []jid.JID{jid.MustParse(fmt.Sprintf("team%02d@conference.chat.test", r))}, Affiliation: "member"})
	}
	groups = append(groups, "('Monitors')")
	var all []jid.JID
	for _, r := range rules {
		all = append(all, r.Rooms...)
	}
	for i := 1; i <= 20; i++ {
		memberships = append(memberships, fmt.Sprintf("(%d, 'Monitors')", 100000+i))
	}
	rules = append(rules, rooms.Rule{Group: "Monitors", Rooms: all, Affiliation: "admin"})
	mustExec(b, w.Root, "INSERT INTO users_groups (groupName) VALUES "+strings.Join(groups, ","))
	for i := 0; i < len(memberships); i += 2000 {
		mustExec(b, w.Root, "INSERT INTO users_usergroups (userId, groupName) VALUES "+strings.Join(memberships[i:min(i+2000, len(memberships))], ","))
	}

	store, err := wikidb.Open(w.ReaderDSN, wikidb.Config{QueryTimeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	syncer, err := rooms.New(provider.RoomMembers{Groups: store}, hclog.NewNullLogger(), rooms.Config{
		Rules: rules, Domain: host, RoomTimeout: 2 * time.Minute,
		Defaults: rooms.Settings{Persistent: boolPtr(true), Moderated: boolPtr(false)},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dial := rooms.DialConfig{Addr: fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), JID: jid.MustParse("syncbot@" + host), Password: "syncbot-pw", TLS: "none"}
	run := func(name string) rooms.Summary {
		client, err := rooms.Dial(ctx, dial)
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sum, err := syncer.Run(ctx, client, false)
		runtime.ReadMemStats(&after)
		if err != nil {
			b.Fatal(err)
		}
		if f := sum.Failed(); len(f) > 0 {
			b.Fatalf("%s: %d rooms failed, first: %v", name, len(f), f[0].Err)
		}
		sum.Reads, sum.Writes = client.Requests()
		b.Logf("%s: %d rooms, %d changes, %d reads + %d writes, %s, %.1f MB allocated, heap %.1f MB",
			name, len(sum.Rooms), sum.Changed(), sum.Reads, sum.Writes, sum.Elapsed.Round(time.Millisecond),
			float64(after.TotalAlloc-before.TotalAlloc)/1e6, float64(after.HeapAlloc)/1e6)
		return sum
	}
	b.ResetTimer()
	first := run("converge from empty")
	b.ReportMetric(first.Elapsed.Seconds(), "s/converge")
	b.ReportMetric(float64(first.Changed()), "changes")
	b.ReportMetric(float64(first.Writes), "writes/converge")
	second := run("no change")
	b.ReportMetric(second.Elapsed.Seconds(), "s/nochange")
	b.ReportMetric(float64(second.Writes), "writes/nochange")
	if second.Changed() != 0 || second.Writes != 0 {
		b.Errorf("a run with nothing to change made %d changes in %d writes", second.Changed(), second.Writes)
	}
	if os.Getenv("LIVECHAT_ROOMS_PARALLEL_AB") != "" {
		for round := 0; round < 3; round++ {
			for _, p := range []int{1, 4} {
				s, err := rooms.New(provider.RoomMembers{Groups: store}, hclog.NewNullLogger(), rooms.Config{
					Rules: rules, Domain: host, RoomTimeout: 2 * time.Minute, Parallel: p,
					Defaults: rooms.Settings{Persistent: boolPtr(true), Moderated: boolPtr(false)},
				})
				if err != nil {
					b.Fatal(err)
				}
				syncer = s
				run(fmt.Sprintf("no change, %d rooms at once", p))
			}
		}
	}
}

func boolPtr(v bool) *bool { return &v }
