package ids

import (
	"fmt"
	"sort"
	"strings"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

// Report is the migration state of a wiki and a chat server.
type Report struct {
	Accounts    int              `json:"accounts"`
	Migrated    int              `json:"migrated"`
	Unmigrated  []wikidb.Account `json:"unmigrated"`    // no livechat_id yet
	InvalidIDs  []wikidb.Account `json:"invalid_ids"`   // livechat_id that is no XMPP localpart
	Collisions  [][]string       `json:"collisions"`    // livechat_ids equal once case-folded
	ChatOnly    []string         `json:"chat_only"`     // chat accounts with no wiki owner
	OnBothSides []string         `json:"on_both_sides"` // chat accounts whose name a wiki account also has
}

// BuildReport compares the wiki's accounts with the chat server's account
// names.
func BuildReport(accounts []wikidb.Account, chat []string) Report {
	r := Report{Accounts: len(accounts), Unmigrated: []wikidb.Account{}, InvalidIDs: []wikidb.Account{},
		Collisions: [][]string{}, ChatOnly: []string{}, OnBothSides: []string{}}
	byKey := map[string][]string{}
	wikiNames := Taken{}
	for _, a := range accounts {
		wikiNames.Add(a.Login)
		if a.LivechatID == nil {
			r.Unmigrated = append(r.Unmigrated, a)
			continue
		}
		r.Migrated++
		wikiNames.Add(*a.LivechatID)
		if _, err := provider.NormalizeLocalpart(*a.LivechatID); err != nil {
			r.InvalidIDs = append(r.InvalidIDs, a)
		}
		k := Key(*a.LivechatID)
		byKey[k] = append(byKey[k], *a.LivechatID)
	}
	for _, ids := range byKey {
		if len(ids) > 1 {
			sort.Strings(ids)
			r.Collisions = append(r.Collisions, ids)
		}
	}
	sort.Slice(r.Collisions, func(i, j int) bool { return r.Collisions[i][0] < r.Collisions[j][0] })
	for _, name := range chat {
		if wikiNames.Has(name) {
			r.OnBothSides = append(r.OnBothSides, name)
		} else {
			r.ChatOnly = append(r.ChatOnly, name)
		}
	}
	return r
}

// Assignment is one proposed livechat_id.
type Assignment struct {
	Account    wikidb.Account
	LivechatID string
	Why        string // "chat account of the same name" or "derived from the login"
}

// SQL is the statement that applies the assignment; it changes nothing if
// the account got a livechat_id meanwhile.
func (a Assignment) SQL() string {
	return fmt.Sprintf("UPDATE users_users SET livechat_id = %s WHERE userId = %d AND livechat_id IS NULL; -- %s: %s",
		quote(a.LivechatID), a.Account.ID, strings.ReplaceAll(a.Account.Login, "\n", " "), a.Why)
}

// quote makes a MySQL string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// BuildPlan proposes a livechat_id for every unmigrated account, in userId
// order: the name of a chat account when it is the account's login
// (normalised as a Jabber ID) and no wiki account has claimed it — the
// automatic merge of the SUMO plan — or else one derived from the login.
// No proposal duplicates an existing id, a chat account (other than the
// one merged) or another proposal.
func BuildPlan(accounts []wikidb.Account, chat []string) []Assignment {
	claimed := Taken{} // livechat_ids in the wiki, and those proposed
	taken := Taken{}   // claimed, and every chat account
	chatNames := map[string]string{}
	for _, a := range accounts {
		if a.LivechatID != nil {
			claimed.Add(*a.LivechatID)
			taken.Add(*a.LivechatID)
		}
	}
	for _, name := range chat {
		taken.Add(name)
		chatNames[Key(name)] = name
	}
	plan := []Assignment{}
	for _, a := range accounts {
		if a.LivechatID != nil {
			continue
		}
		if login, err := provider.NormalizeLocalpart(a.Login); err == nil {
			if name, ok := chatNames[Key(login)]; ok && name == login && !claimed.Has(name) {
				plan = append(plan, Assignment{Account: a, LivechatID: name, Why: "chat account of the same name"})
				claimed.Add(name)
				continue
			}
		}
		id := Suggest(a.Login, taken)
		taken.Add(id)
		claimed.Add(id)
		plan = append(plan, Assignment{Account: a, LivechatID: id, Why: "derived from the login"})
	}
	return plan
}
