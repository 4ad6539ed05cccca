package ids

import (
	"strings"
	"testing"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

func TestBase(t *testing.T) {
	tests := map[string]string{
		"alice":                  "alice",
		"Trent Support":          "trentsupport",
		"José":                   "jose",
		"Straße":                 "strasse",
		"Søren Kierke":           "sørenkierke",
		"Дмитрий":                "дмитрий",
		"a.b-c_d@e":              "abcde",
		"ＡＢＣ１２":                  "abc12",
		"!!!":                    "user",
		"":                       "user",
		"O'Brien, Pat":           "obrienpat",
		strings.Repeat("x", 100): strings.Repeat("x", 64),
	}
	for login, want := range tests {
		got := Base(login)
		if got != want {
			t.Errorf("Base(%q) = %q, want %q", login, got, want)
		}
		if _, err := provider.NormalizeLocalpart(got); err != nil {
			t.Errorf("Base(%q) = %q is no localpart", login, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	taken := Taken{}
	for _, n := range []string{"alice", "Alice2", "bob"} {
		taken.Add(n)
	}
	for login, want := range map[string]string{"Alice": "alice3", "bob": "bob2", "carol": "carol"} {
		if got := Suggest(login, taken); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", login, got, want)
		}
	}
}

func ptr(s string) *string { return &s }

func fixture() ([]wikidb.Account, []string) {
	return []wikidb.Account{
			{ID: 1, Login: "admin", LivechatID: ptr("admin")},
			{ID: 2, Login: "alice", LivechatID: ptr("alice")},
			{ID: 3, Login: "Alice Smith", LivechatID: ptr("ALICE")}, // collides with alice
			{ID: 4, Login: "bad", LivechatID: ptr("has space")},
			{ID: 5, Login: "rupert"},      // a chat account of the same name: merge
			{ID: 6, Login: "José García"}, // derived
			{ID: 7, Login: "jose garcia"}, // derived, must not duplicate 6
			{ID: 8, Login: "bob"},         // chat account "bob" exists but belongs to... nobody: merge
			{ID: 9, Login: "Admin"},       // login normalises to admin, already claimed: derived admin2
		}, []string{
			"rupert", "bob", "oldtimer", "josegarcia", "alice",
		}
}

func TestReport(t *testing.T) {
	accounts, chat := fixture()
	r := BuildReport(accounts, chat)
	if r.Accounts != 9 || r.Migrated != 4 || len(r.Unmigrated) != 5 {
		t.Errorf("counts %d/%d/%d", r.Accounts, r.Migrated, len(r.Unmigrated))
	}
	if len(r.InvalidIDs) != 1 || r.InvalidIDs[0].ID != 4 {
		t.Errorf("invalid ids %+v", r.InvalidIDs)
	}
	if len(r.Collisions) != 1 || strings.Join(r.Collisions[0], ",") != "ALICE,alice" {
		t.Errorf("collisions %v", r.Collisions)
	}
	if strings.Join(r.ChatOnly, ",") != "oldtimer,josegarcia" {
		t.Errorf("chat only %v", r.ChatOnly)
	}
	if strings.Join(r.OnBothSides, ",") != "rupert,bob,alice" {
		t.Errorf("on both sides %v", r.OnBothSides)
	}
}

func TestPlan(t *testing.T) {
	accounts, chat := fixture()
	plan := BuildPlan(accounts, chat)
	got := map[int64]string{}
	for _, a := range plan {
		got[a.Account.ID] = a.LivechatID
	}
	want := map[int64]string{5: "rupert", 6: "josegarcia2", 7: "josegarcia3", 8: "bob", 9: "admin2"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("user %d: %q, want %q", id, got[id], w)
		}
	}
	if len(plan) != len(want) {
		t.Errorf("%d assignments, want %d", len(plan), len(want))
	}
	seen := Taken{}
	for _, a := range plan {
		if seen.Has(a.LivechatID) {
			t.Errorf("duplicate %q", a.LivechatID)
		}
		seen.Add(a.LivechatID)
	}
	sql := plan[0].SQL()
	if sql != "UPDATE users_users SET livechat_id = 'rupert' WHERE userId = 5 AND livechat_id IS NULL; -- rupert: chat account of the same name" {
		t.Errorf("SQL %q", sql)
	}
	if q := quote(`a'b\c`); q != `'a\'b\\c'` {
		t.Errorf("quote = %s", q)
	}
}
