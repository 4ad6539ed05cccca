package ids

import (
	"context"
	"maps"
	"slices"
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
		"René":                   "rene",
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

// TestKey: names utf8mb4_unicode_ci holds equal share a key.
func TestKey(t *testing.T) {
	same := map[string][]string{
		"accents":          {"rené", "René", "rene", "RENE"},
		"trailing spaces":  {"bob", "bob ", "bob  "},
		"sharp s":          {"straße", "strasse", "STRASSE"},
		"width":            {"ＡＢＣ", "abc"},
		"digits":           {"user3", "user٣", "user३", "user３"},
		"kana":             {"あい", "アイ", "ｱｲ"},
		"iota subscript":   {"ᾳ", "α", "Α"},
		"supplementary":    {"𠀀", "𠀁"},
		"accents of other": {"ёлка", "елка"},
	}
	for name, names := range same {
		for _, n := range names[1:] {
			if Key(n) != Key(names[0]) {
				t.Errorf("%s: Key(%q) = %q, Key(%q) = %q", name, n, Key(n), names[0], Key(names[0]))
			}
		}
	}
	for _, pair := range [][2]string{{"alice", "alicia"}, {"bob", " bob"}, {"rene", "rene2"}} {
		if Key(pair[0]) == Key(pair[1]) {
			t.Errorf("Key(%q) = Key(%q)", pair[0], pair[1])
		}
	}
}

func TestSuggest(t *testing.T) {
	taken := Taken{}
	for _, n := range []string{"alice", "Alice2", "bob", "rené"} {
		taken.Add(n)
	}
	for login, want := range map[string]string{"Alice": "alice3", "bob": "bob2", "carol": "carol", "René": "rene2"} {
		if got := Suggest(login, taken); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", login, got, want)
		}
	}
}

// collation is a fake Checker: names are equal when their Key is, or when
// they are listed together in also (equalities Key does not know, as the
// database knows more than Key). rounds counts the calls.
type collation struct {
	accounts []wikidb.Account
	also     [][]string
	rounds   int
}

func (c *collation) key(name string) string {
	for _, group := range c.also {
		if slices.Contains(group, name) {
			return "also:" + group[0]
		}
	}
	return Key(name)
}

func (c *collation) EqualIDs(_ context.Context, names []string) ([]wikidb.Equal, error) {
	c.rounds++
	groups := map[string]*wikidb.Equal{}
	var order []string
	group := func(name string) *wikidb.Equal {
		k := c.key(name)
		if groups[k] == nil {
			groups[k] = &wikidb.Equal{}
			order = append(order, k)
		}
		return groups[k]
	}
	for _, a := range c.accounts {
		if a.LivechatID != nil {
			g := group(*a.LivechatID)
			g.Accounts = append(g.Accounts, a.ID)
		}
	}
	for i, n := range names {
		g := group(n)
		g.Names = append(g.Names, i)
	}
	var out []wikidb.Equal
	for _, k := range order {
		if g := groups[k]; len(g.Names)+len(g.Accounts) > 1 {
			out = append(out, *g)
		}
	}
	return out, nil
}

func ptr(s string) *string { return &s }

func fixture() ([]wikidb.Account, ChatNames) {
	return []wikidb.Account{
			{ID: 1, Login: "admin", LivechatID: ptr("admin")},
			{ID: 2, Login: "alice", LivechatID: ptr("alice")},
			{ID: 3, Login: "Alice Smith", LivechatID: ptr("ALICE")}, // collides with alice
			{ID: 4, Login: "bad", LivechatID: ptr("has space")},
			{ID: 5, Login: "rupert"},      // a chat account of the same name: unverified
			{ID: 6, Login: "José García"}, // derived
			{ID: 7, Login: "jose garcia"}, // derived, must not duplicate 6
			{ID: 8, Login: "Bob"},         // chat account "bob": unverified
			{ID: 9, Login: "Admin"},       // login normalises to admin, already claimed: derived admin2
			{ID: 10, Login: "rené", LivechatID: ptr("rené")},
			{ID: 11, Login: "René"}, // rene is rené to the collation: rene2
		}, NewChatNames([]string{
			"rupert", "bob", "oldtimer", "josegarcia", "alice", "rupert", "Rupert@chat.test", "bob@support.test", "has space", "a:b",
		})
}

func TestChatNames(t *testing.T) {
	_, chat := fixture()
	if got := strings.Join(chat.Valid, ","); got != "rupert,bob,oldtimer,josegarcia,alice" {
		t.Errorf("valid %s", got)
	}
	if got := strings.Join(chat.Invalid, ","); got != "has space,a:b" {
		t.Errorf("invalid %s", got)
	}
}

func TestReport(t *testing.T) {
	accounts, chat := fixture()
	r, err := BuildReport(context.Background(), &collation{accounts: accounts}, accounts, chat)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accounts != 11 || r.Migrated != 5 || len(r.Unmigrated) != 6 || r.ChatAccounts != 7 {
		t.Errorf("accounts %d, migrated %d, unmigrated %d, chat accounts %d", r.Accounts, r.Migrated, len(r.Unmigrated), r.ChatAccounts)
	}
	if len(r.InvalidIDs) != 1 || r.InvalidIDs[0].UserID != 4 {
		t.Errorf("invalid ids %+v", r.InvalidIDs)
	}
	// alice (2) and ALICE (3) are two accounts; the chat account alice is
	// one of them. has space is both a wiki id and a chat name: one name.
	if len(r.Collisions) != 1 || len(r.Collisions[0].LivechatIDs) != 2 || strings.Join(r.Collisions[0].ChatNames, ",") != "alice" {
		t.Errorf("collisions %+v", r.Collisions)
	}
	if got := strings.Join(r.InvalidChatNames, ","); got != "has space,a:b" {
		t.Errorf("invalid chat names %s", got)
	}
	var unverified []int64
	for _, a := range r.UnverifiedMatches {
		unverified = append(unverified, a.UserID)
	}
	if !slices.Equal(unverified, []int64{5, 8}) {
		t.Errorf("unverified matches %v", unverified)
	}
	if strings.Join(r.ChatOnly, ",") != "oldtimer,josegarcia" {
		t.Errorf("chat only %v", r.ChatOnly)
	}
	if strings.Join(r.OnBothSides, ",") != "rupert,bob,alice" {
		t.Errorf("on both sides %v", r.OnBothSides)
	}
	if r.Problems() != 6+1+1+2 {
		t.Errorf("problems %d", r.Problems())
	}
}

func planIDs(plan []Assignment) map[int64]string {
	got := map[int64]string{}
	for _, a := range plan {
		got[a.Account.ID] = a.LivechatID
	}
	return got
}

func TestPlan(t *testing.T) {
	accounts, chat := fixture()
	c := &collation{accounts: accounts}
	plan, err := BuildPlan(context.Background(), c, accounts, chat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{5: "rupert", 6: "josegarcia2", 7: "josegarcia3", 8: "bob", 9: "admin2", 11: "rene2"}
	if got := planIDs(plan); !maps.Equal(got, want) {
		t.Errorf("plan %v, want %v", got, want)
	}
	if c.rounds != 1 {
		t.Errorf("%d rounds with the database, want 1", c.rounds)
	}
	for _, a := range plan {
		if unverified := a.Account.ID == 5 || a.Account.ID == 8; a.Unverified != unverified {
			t.Errorf("user %d: unverified %v", a.Account.ID, a.Unverified)
		}
	}
	if sql := plan[0].SQL(); sql != "-- UPDATE users_users SET livechat_id = 'rupert' WHERE userId = 5 AND livechat_id IS NULL; -- rupert: "+WhyUnverified {
		t.Errorf("SQL %q", sql)
	}
	if sql := plan[1].SQL(); sql != "UPDATE users_users SET livechat_id = 'josegarcia2' WHERE userId = 6 AND livechat_id IS NULL; -- José García: "+WhyDerived {
		t.Errorf("SQL %q", sql)
	}

	merged, err := BuildPlan(context.Background(), c, accounts, chat, PlanOptions{MergeByName: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := planIDs(merged); !maps.Equal(got, want) {
		t.Errorf("merged plan %v, want %v", got, want)
	}
	for _, a := range merged {
		why := WhyDerived
		if a.Account.ID == 5 || a.Account.ID == 8 {
			why = WhyChatName
		}
		if a.Unverified || a.Why != why {
			t.Errorf("merged: user %d %q unverified %v", a.Account.ID, a.Why, a.Unverified)
		}
	}
	if q := quote(`a'b\c`); q != `'a\'b\\c'` {
		t.Errorf("quote = %s", q)
	}
}

// TestPlanAsksTheDatabase: where the database holds equal what Key does
// not, the database wins: the id moves on, in a second round.
func TestPlanAsksTheDatabase(t *testing.T) {
	accounts := []wikidb.Account{
		{ID: 1, Login: "キヤ", LivechatID: ptr("キヤ")},
		{ID: 2, Login: "キャ"},
		{ID: 3, Login: "ﾏﾘｰ"}, // マリー, which the database holds equal to...
		{ID: 4, Login: "マリ"},  // ...this one, in this fake
		{ID: 5, Login: "zed"},
	}
	chat := NewChatNames([]string{"zeta"})
	c := &collation{accounts: accounts, also: [][]string{{"キヤ", "キャ"}, {"マリー", "マリ"}, {"zed", "zeta"}}}
	plan, err := BuildPlan(context.Background(), c, accounts, chat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{2: "キャ2", 3: "マリー", 4: "マリ2", 5: "zed2"}
	if got := planIDs(plan); !maps.Equal(got, want) {
		t.Errorf("plan %v, want %v", got, want)
	}
	if c.rounds != 2 {
		t.Errorf("%d rounds, want 2", c.rounds)
	}
	id, err := SuggestFor(context.Background(), c, "キャ", accounts, chat)
	if err != nil || id != "キャ2" {
		t.Errorf("SuggestFor = %q, %v", id, err)
	}
}

func TestWritePlan(t *testing.T) {
	accounts, chat := fixture()
	plan, err := BuildPlan(context.Background(), &collation{accounts: accounts}, accounts, chat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan[1].Account.Login = "evil\nDROP TABLE users_users; -- \r\u2028x"
	var b strings.Builder
	if err := WritePlan(&b, plan, len(accounts)); err != nil {
		t.Fatal(err)
	}
	var statements []string
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "-- ") {
			statements = append(statements, line)
		}
	}
	if len(statements) != 6 || statements[0] != "START TRANSACTION;" || statements[5] != "COMMIT;" {
		t.Errorf("statements:\n%s", strings.Join(statements, "\n"))
	}
	for _, s := range statements[1:5] {
		if !strings.HasPrefix(s, "UPDATE users_users SET livechat_id = ") {
			t.Errorf("statement %q", s)
		}
	}
	if !strings.Contains(b.String(), "4 assignments for 11 accounts; 2 unverified") {
		t.Errorf("header:\n%s", b.String())
	}
}
