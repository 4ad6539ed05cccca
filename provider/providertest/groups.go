package providertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

// Membership is one users_usergroups row: UserID is in Group (as the row
// spells it) until Expire, a Unix time; nil is NULL and 0 is 0, which
// Tiki both reads as "never".
type Membership struct {
	UserID int64
	Group  string
	Expire *int64
}

// Groups is a wiki's groups: the users_groups names, the
// tiki_group_inclusion rows ({group, included}: the members of group are
// members of included too) and the users_usergroups rows.
type Groups struct {
	Names       []string
	Inclusions  [][2]string
	Memberships []Membership
}

// GroupFixture returns the suite's groups over Accounts, with expiries
// around now. Room Monitors and Support Team include each other (a cycle,
// as real wikis have), Senior Staff includes Support Team, and the rows
// spell group names as a wiki's do: in another case, with a trailing
// space, or naming a group that users_groups lacks.
func GroupFixture(now time.Time) Groups {
	at := func(t time.Time) *int64 { u := t.Unix(); return &u }
	zero := int64(0)
	return Groups{
		Names: []string{"Registered", "Room Monitors", "Support Team", "Senior Staff", "Straße Team", "Empty"},
		Inclusions: [][2]string{
			{"Support Team", "Room Monitors"}, {"Room Monitors", "Support Team"},
			{"Senior Staff", "Support Team"},
			{"Ghost Team", "Room Monitors"}, // Ghost Team is in no users_groups row
		},
		Memberships: []Membership{
			{UserID: 1, Group: "Room Monitors"},                                   // alice
			{UserID: 1, Group: "Support Team"},                                    // alice again: reached two ways
			{UserID: 2, Group: "room monitors"},                                   // zoë: the row's case differs
			{UserID: 3, Group: "Support Team"},                                    // Trent, through the inclusion
			{UserID: 4, Group: "Senior Staff"},                                    // Straße, through two
			{UserID: 5, Group: "Room Monitors"},                                   // nina: suspended
			{UserID: 6, Group: "Room Monitors"},                                   // rupert: unmigrated
			{UserID: 9, Group: "Room Monitors"},                                   // xena: livechat_id no localpart
			{UserID: 10, Group: "Room Monitors"},                                  // quinn: 2FA does not matter
			{UserID: 11, Group: "Room Monitors", Expire: at(now.Add(time.Hour))},  // peggy: expires later
			{UserID: 12, Group: "Room Monitors", Expire: at(now.Add(-time.Hour))}, // ivanov: expired
			{UserID: 13, Group: "Ghost Team"},                                     // ivanov2: through a group that is not there, counted as Tiki does
			{UserID: 14, Group: "Room Monitors ", Expire: &zero},                  // greek1: trailing space, expire 0
			{UserID: 8, Group: "Straße Team"},                                     // fullwidth
		},
	}
}

// groupCase is one question "who is in these groups?", asked through
// provider.RoomMembers, so that it covers who may take part in rooms.
type groupCase struct {
	name string
	ask  []string
	want map[string][]string // localparts by group as asked, sorted
	err  error               // or this error
}

func groupCases() []groupCase {
	monitors := []string{"alice", "peggy", "quinn", "straße", "trent.support", "zoë", "αι", "иванᲂв"}
	return []groupCase{
		{name: "members, inclusions both ways, states applied", ask: []string{"Room Monitors"},
			want: map[string][]string{"Room Monitors": monitors}},
		{name: "a cycle ends", ask: []string{"Support Team"},
			want: map[string][]string{"Support Team": monitors}},
		{name: "an including group has only its own", ask: []string{"Senior Staff"},
			want: map[string][]string{"Senior Staff": {"straße"}}},
		{name: "names matched under the collation", ask: []string{"room MONITORS", "STRASSE TEAM", "Sénior Staff  "},
			want: map[string][]string{"room MONITORS": monitors, "STRASSE TEAM": {"full"}, "Sénior Staff  ": {"straße"}}},
		{name: "one group asked twice, and two spellings of one", ask: []string{"Senior Staff", "Senior Staff", "senior staff"},
			want: map[string][]string{"Senior Staff": {"straße"}, "senior staff": {"straße"}}},
		{name: "a group with no members", ask: []string{"Empty", "Senior Staff"},
			want: map[string][]string{"Empty": {}, "Senior Staff": {"straße"}}},
		{name: "every account that may take part is Registered", ask: []string{"Registered"},
			want: map[string][]string{"Registered": {"alice", "full", "peggy", "quinn", "straße", "trent.support", "zoë", "αι", "иванов", "иванᲂв", "ᾳ"}}},
		{name: "nothing asked", ask: nil, want: map[string][]string{}},
		{name: "a missing group fails the whole read", ask: []string{"Room Monitors", "Room Monitorz"}, err: wikidb.ErrNoSuchGroup},
		{name: "a group only inclusions name is missing", ask: []string{"Ghost Team"}, err: wikidb.ErrNoSuchGroup},
		{name: "an empty name", ask: []string{""}, err: wikidb.ErrNoSuchGroup},
		{name: "SQL metacharacters", ask: []string{`Empty' OR '1'='1`, `x\'; --`}, err: wikidb.ErrNoSuchGroup},
		{name: "not UTF-8", ask: []string{"Empty\xff"}, err: wikidb.ErrNoSuchGroup},
	}
}

// RunGroupMembers runs the "who is in these groups" table against groups,
// which must hold Accounts and GroupFixture. The in-memory Directory and
// wikidb.Store on MariaDB both run it, so the fake cannot pass what the
// database fails.
func RunGroupMembers(t *testing.T, groups provider.GroupLister) {
	ctx := context.Background()
	members := provider.RoomMembers{Groups: groups}
	for _, tc := range groupCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := members.GroupMembers(ctx, tc.ask)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != nil {
					t.Fatalf("GroupMembers(%q) = %v, %v; want %v", tc.ask, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GroupMembers(%q): %v", tc.ask, err)
			}
			for g := range got {
				slices.Sort(got[g])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("GroupMembers(%q) =\n %v\nwant\n %v", tc.ask, got, tc.want)
			}
		})
	}
	t.Run("accounts come without their hash", func(t *testing.T) {
		got, err := groups.GroupMembers(ctx, []string{"Registered"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got["Registered"]) != 15 {
			t.Fatalf("Registered: %d accounts, want all 15", len(got["Registered"]))
		}
		for _, u := range got["Registered"] {
			if u.Hash != "" {
				t.Fatalf("%s comes with its hash", u.Login)
			}
		}
	})
}

// SetGroups gives the Directory the wiki's groups.
func (d *Directory) SetGroups(g Groups) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groups = g
}

// GroupMembers is wikidb's: the accounts in each of groups, names matched
// under the collation, inclusions followed by name (through groups
// users_groups lacks too, as Tiki does), expired memberships dropped,
// every account in Registered.
func (d *Directory) GroupMembers(_ context.Context, groups []string) (map[string][]wikidb.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fault(""); err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, n := range d.groups.Names {
		exists[Collate(n)] = true
	}
	out := map[string][]wikidb.User{}
	for _, g := range slices.Sorted(slices.Values(groups)) {
		if !utf8.ValidString(g) || !exists[Collate(g)] {
			return nil, fmt.Errorf("group %q: %w", g, wikidb.ErrNoSuchGroup)
		}
		included := map[string]bool{Collate(g): true}
		for grew := true; grew; {
			grew = false
			for _, inc := range d.groups.Inclusions {
				from, to := Collate(inc[0]), Collate(inc[1])
				if included[to] && !included[from] {
					included[from], grew = true, true
				}
			}
		}
		in := map[int64]bool{}
		for _, m := range d.groups.Memberships {
			live := m.Expire == nil || *m.Expire == 0 || *m.Expire > time.Now().Unix()
			if live && included[Collate(m.Group)] {
				in[m.UserID] = true
			}
		}
		users := []wikidb.User{}
		for _, u := range d.users {
			if in[u.ID] || Collate(g) == Collate("Registered") {
				u.Hash = ""
				users = append(users, u)
			}
		}
		slices.SortFunc(users, func(a, b wikidb.User) int { return int(a.ID - b.ID) })
		out[g] = users
	}
	return out, nil
}
