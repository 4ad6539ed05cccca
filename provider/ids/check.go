package ids

import (
	"context"
	"fmt"
	"slices"

	"livechat-auth/wikidb"
)

// Checker tells which names the wiki's livechat_id key holds equal, under
// the column's own collation; *wikidb.Store implements it.
type Checker interface {
	EqualIDs(ctx context.Context, names []string) ([]wikidb.Equal, error)
}

// maxRounds bounds how often settle asks the database. Each round that
// finds a clash moves at least one id, and Key leaves few for it to find.
const maxRounds = 20

// proposal is an id being chosen for a login.
type proposal struct {
	login string
	id    string
	// chat is the chat account this proposal is named after ("" when the
	// id is derived): the one chat name the id may equal.
	chat string
}

// settle makes the proposals' ids unique under the database's collation:
// against existing livechat_ids, the chat names and each other. The first
// proposal, in order, whose group holds no livechat_id and no chat name
// but its own keeps its id; every other one moves to the next free suffix
// of its login and becomes derived. taken holds the keys of every name in
// use and grows with each id tried.
func settle(ctx context.Context, c Checker, props []*proposal, chat []string, taken Taken) error {
	if len(props) == 0 {
		return nil
	}
	for round := 0; round < maxRounds; round++ {
		names := make([]string, 0, len(chat)+len(props))
		names = append(names, chat...)
		for _, p := range props {
			names = append(names, p.id)
		}
		groups, err := c.EqualIDs(ctx, names)
		if err != nil {
			return err
		}
		moved := false
		for _, g := range groups {
			var chatIn []string
			var members []int
			for _, i := range g.Names {
				if i < len(chat) {
					chatIn = append(chatIn, chat[i])
				} else {
					members = append(members, i-len(chat))
				}
			}
			slices.Sort(members)
			kept := false
			for _, i := range members {
				p := props[i]
				if !kept && len(g.Accounts) == 0 && onlyName(chatIn, p.chat) {
					kept = true
					continue
				}
				taken.Add(p.id)
				p.id, p.chat = Suggest(p.login, taken), ""
				taken.Add(p.id)
				moved = true
			}
		}
		if !moved {
			return nil
		}
	}
	return fmt.Errorf("livechat_ids still clash after %d rounds with the database", maxRounds)
}

// onlyName reports whether every name in names is name: a proposal may
// equal no chat name but the one it is named after.
func onlyName(names []string, name string) bool {
	for _, n := range names {
		if name == "" || n != name {
			return false
		}
	}
	return true
}

// SuggestFor returns the id a new account with this login should get:
// Suggest's choice, moved on until the database holds it equal to no
// livechat_id and no chat name.
func SuggestFor(ctx context.Context, c Checker, login string, accounts []wikidb.Account, chat ChatNames) (string, error) {
	taken := takenBy(accounts, chat)
	p := &proposal{login: login, id: Suggest(login, taken)}
	if err := settle(ctx, c, []*proposal{p}, chat.Reserved(), taken); err != nil {
		return "", err
	}
	return p.id, nil
}

// takenBy is the keys of the existing livechat_ids and the chat names.
func takenBy(accounts []wikidb.Account, chat ChatNames) Taken {
	taken := Taken{}
	for _, a := range accounts {
		if a.LivechatID != nil {
			taken.Add(*a.LivechatID)
		}
	}
	for _, name := range chat.Reserved() {
		taken.Add(name)
	}
	return taken
}
