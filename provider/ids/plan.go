package ids

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

// Why an assignment proposes its id.
const (
	WhyDerived    = "derived from the login"
	WhyChatName   = "chat account of the same name, merged by name (--merge-by-name): ownership not proven"
	WhyUnverified = "unverified: a chat account of the same name exists, and a name proves no ownership; " +
		"uncomment only once this wiki user has shown the chat account is theirs, or let them migrate on the migration page"
)

// Assignment is one proposed livechat_id.
type Assignment struct {
	Account    wikidb.Account
	LivechatID string
	Why        string // one of the Why… constants
	// Unverified marks the name of a same-named chat account that the
	// plan does not assign: its line is commented out.
	Unverified bool
}

// SQL is the statement that applies the assignment, commented out when it
// is unverified; it changes nothing if the account got a livechat_id
// meanwhile.
func (a Assignment) SQL() string {
	line := fmt.Sprintf("UPDATE users_users SET livechat_id = %s WHERE userId = %d AND livechat_id IS NULL; -- %s: %s",
		quote(a.LivechatID), a.Account.ID, commentText(a.Account.Login), a.Why)
	if a.Unverified {
		return "-- " + line
	}
	return line
}

// quote makes a MySQL string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// commentText makes s safe in a "-- " comment: a line break would end it.
func commentText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// PlanOptions changes what BuildPlan proposes.
type PlanOptions struct {
	// MergeByName assigns an unmigrated account the name of the chat
	// account that is its login. Unsafe: two people may hold the same name
	// on the two servers, and the wiki user would inherit the chat
	// account's identity, contacts and history. Without it, such lines
	// are written commented out, for the operator to resolve.
	MergeByName bool
}

// BuildPlan proposes a livechat_id for every unmigrated account, in userId
// order. An account whose login (as a localpart) is the name of a chat
// account gets that name as an unverified, commented-out line, or as a
// real one with opts.MergeByName, unless the name is no longer free; any
// other account gets an id derived from its login. The database decides
// that no id equals, under the livechat_id collation, an existing id, a
// chat account (but the one named after) or another line of the plan.
func BuildPlan(ctx context.Context, c Checker, accounts []wikidb.Account, chat ChatNames, opts PlanOptions) ([]Assignment, error) {
	taken := takenBy(accounts, chat)
	chatByAccount := map[string]string{}
	for _, name := range chat.Valid {
		chatByAccount[sameAccount(name)] = name
	}
	var unmigrated []wikidb.Account
	var props []*proposal
	for _, a := range accounts {
		if a.LivechatID != nil {
			continue
		}
		p := &proposal{login: a.Login}
		if login, err := provider.NormalizeLocalpart(a.Login); err == nil {
			if name, ok := chatByAccount[sameAccount(login)]; ok {
				p.id, p.chat = name, name
			}
		}
		if p.chat == "" {
			p.id = Suggest(a.Login, taken)
			taken.Add(p.id)
		}
		unmigrated = append(unmigrated, a)
		props = append(props, p)
	}
	if err := settle(ctx, c, props, chat.Reserved(), taken); err != nil {
		return nil, err
	}
	plan := make([]Assignment, len(props))
	for i, p := range props {
		plan[i] = Assignment{Account: unmigrated[i], LivechatID: p.id, Why: WhyDerived}
		switch {
		case p.chat != "" && opts.MergeByName:
			plan[i].Why = WhyChatName
		case p.chat != "":
			plan[i].Why, plan[i].Unverified = WhyUnverified, true
		}
	}
	return plan, nil
}

// WritePlan writes the plan as SQL to apply in one transaction: all of it
// or, when a line fails and the mysql client stops, none of it. Applying
// it again changes nothing, each line setting only a livechat_id that is
// still NULL. accounts is the number of accounts the plan looked at.
func WritePlan(w io.Writer, plan []Assignment, accounts int) error {
	active, unverified := 0, 0
	for _, a := range plan {
		if a.Unverified {
			unverified++
		} else {
			active++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- livechat-auth ids plan: %d assignments for %d accounts; %d unverified same-name matches, commented out.\n", active, accounts, unverified)
	b.WriteString("-- Review, then apply with a user that may UPDATE users_users: mysql tiki < plan.sql\n")
	b.WriteString("-- All or nothing: one transaction, and the mysql client stops at the first error (do not use --force).\n")
	b.WriteString("-- Applying it again changes nothing: each line sets only a livechat_id that is still NULL.\n")
	b.WriteString("START TRANSACTION;\n")
	for _, a := range plan {
		b.WriteString(a.SQL())
		b.WriteByte('\n')
	}
	b.WriteString("COMMIT;\n")
	_, err := io.WriteString(w, b.String())
	return err
}
