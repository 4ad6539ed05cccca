package ids

import (
	"cmp"
	"context"
	"slices"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

// Report is the migration state of a wiki and a chat server. Its JSON
// form, keys in snake_case, is part of the command line interface.
type Report struct {
	Accounts     int `json:"accounts"`
	Migrated     int `json:"migrated"`
	ChatAccounts int `json:"chat_accounts"` // distinct chat account names

	// Problems: Problems counts them.
	Unmigrated       []Account   `json:"unmigrated"`         // no livechat_id yet
	InvalidIDs       []Account   `json:"invalid_ids"`        // livechat_id that is no XMPP localpart
	Collisions       []Collision `json:"collisions"`         // names the livechat_id key holds equal
	InvalidChatNames []string    `json:"invalid_chat_names"` // chat names that cannot be localparts

	// For information.
	UnverifiedMatches []Account `json:"unverified_matches"` // unmigrated, and a chat account has the login's name
	ChatOnly          []string  `json:"chat_only"`          // chat accounts with no wiki owner
	OnBothSides       []string  `json:"on_both_sides"`      // chat accounts whose name a wiki account also has
}

// Account is a wiki account in a report.
type Account struct {
	UserID     int64   `json:"user_id"`
	Login      string  `json:"login"`
	LivechatID *string `json:"livechat_id"` // null: not migrated
}

// Collision is a group of different names that the livechat_id column's
// collation holds equal (rené and René and rene on Tiki 24): at most one
// of them can be a livechat_id.
type Collision struct {
	LivechatIDs []Account `json:"livechat_ids"` // wiki accounts holding one of them
	ChatNames   []string  `json:"chat_names"`   // chat accounts with one of them
}

// Problems is the number of things the operator must resolve before every
// wiki user can chat under a unique id: unmigrated accounts, invalid ids,
// collisions and chat names that cannot be localparts.
func (r Report) Problems() int {
	return len(r.Unmigrated) + len(r.InvalidIDs) + len(r.Collisions) + len(r.InvalidChatNames)
}

// BuildReport compares the wiki's accounts with the chat server's account
// names; the database says which names its livechat_id key holds equal.
func BuildReport(ctx context.Context, c Checker, accounts []wikidb.Account, chat ChatNames) (Report, error) {
	r := Report{Accounts: len(accounts), ChatAccounts: len(chat.Valid) + len(chat.Invalid),
		Unmigrated: []Account{}, InvalidIDs: []Account{}, Collisions: []Collision{},
		InvalidChatNames:  append([]string{}, chat.Invalid...),
		UnverifiedMatches: []Account{}, ChatOnly: []string{}, OnBothSides: []string{}}
	chatAccounts := map[string]bool{}
	for _, name := range chat.Valid {
		chatAccounts[sameAccount(name)] = true
	}
	wikiNames := map[string]bool{} // logins and livechat_ids, as chat accounts
	byID := map[int64]wikidb.Account{}
	for _, a := range accounts {
		byID[a.ID] = a
		login, loginErr := provider.NormalizeLocalpart(a.Login)
		if loginErr == nil {
			wikiNames[sameAccount(login)] = true
		}
		if a.LivechatID == nil {
			r.Unmigrated = append(r.Unmigrated, reportAccount(a))
			if loginErr == nil && chatAccounts[sameAccount(login)] {
				r.UnverifiedMatches = append(r.UnverifiedMatches, reportAccount(a))
			}
			continue
		}
		r.Migrated++
		id, err := provider.NormalizeLocalpart(*a.LivechatID)
		if err != nil {
			r.InvalidIDs = append(r.InvalidIDs, reportAccount(a))
			continue
		}
		wikiNames[sameAccount(id)] = true
	}
	for _, name := range chat.Valid {
		if wikiNames[sameAccount(name)] {
			r.OnBothSides = append(r.OnBothSides, name)
		} else {
			r.ChatOnly = append(r.ChatOnly, name)
		}
	}
	reserved := chat.Reserved()
	groups, err := c.EqualIDs(ctx, reserved)
	if err != nil {
		return Report{}, err
	}
	for _, g := range groups {
		col := Collision{LivechatIDs: []Account{}, ChatNames: []string{}}
		for _, id := range g.Accounts {
			col.LivechatIDs = append(col.LivechatIDs, reportAccount(byID[id]))
		}
		for _, i := range g.Names {
			col.ChatNames = append(col.ChatNames, reserved[i])
		}
		if col.isCollision() {
			r.Collisions = append(r.Collisions, col)
		}
	}
	slices.SortFunc(r.Collisions, func(a, b Collision) int { return cmp.Compare(a.first(), b.first()) })
	return r, nil
}

// isCollision reports whether the group names more than one account: two
// wiki accounts, or names that are different chat accounts. A wiki id and
// the chat account of the same name are one account being migrated.
func (c Collision) isCollision() bool {
	if len(c.LivechatIDs) > 1 {
		return true
	}
	accounts := map[string]bool{}
	for _, a := range c.LivechatIDs {
		accounts[accountKey(*a.LivechatID)] = true
	}
	for _, name := range c.ChatNames {
		accounts[accountKey(name)] = true
	}
	return len(accounts) > 1
}

// accountKey is the chat account a name stands for, or the name itself
// when it cannot be one.
func accountKey(name string) string {
	if n, err := provider.NormalizeLocalpart(name); err == nil {
		return sameAccount(n)
	}
	return "\x00" + name
}

func (c Collision) first() string {
	if len(c.LivechatIDs) > 0 {
		return *c.LivechatIDs[0].LivechatID
	}
	if len(c.ChatNames) > 0 {
		return c.ChatNames[0]
	}
	return ""
}

func reportAccount(a wikidb.Account) Account {
	return Account{UserID: a.ID, Login: a.Login, LivechatID: a.LivechatID}
}
