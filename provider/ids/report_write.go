package ids

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ReportFormats are the formats Report.Write writes.
var ReportFormats = []string{"table", "json", "csv"}

// Write writes the report as a table for people, JSON, or CSV (one row
// per finding).
func (r Report) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return r.writeCSV(w)
	case "table":
		return r.writeTable(w)
	}
	return fmt.Errorf("--format %q: use table, json or csv", format)
}

// writeCSV writes one row per finding; the rows of one collision
// share its number.
func (r Report) writeCSV(w io.Writer) error {
	out := csv.NewWriter(w)
	row := func(kind string, a *Account, chatName string, collision int) {
		rec := []string{kind, "", "", "", chatName, ""}
		if a != nil {
			rec[1], rec[2] = strconv.FormatInt(a.UserID, 10), a.Login
			if a.LivechatID != nil {
				rec[3] = *a.LivechatID
			}
		}
		if collision > 0 {
			rec[5] = strconv.Itoa(collision)
		}
		_ = out.Write(rec) // errors surface from Flush
	}
	_ = out.Write([]string{"kind", "user_id", "login", "livechat_id", "chat_name", "collision"})
	for _, a := range r.Unmigrated {
		row("unmigrated", &a, "", 0)
	}
	for _, a := range r.InvalidIDs {
		row("invalid-id", &a, "", 0)
	}
	for i, c := range r.Collisions {
		for _, a := range c.LivechatIDs {
			row("collision", &a, "", i+1)
		}
		for _, name := range c.ChatNames {
			row("collision", nil, name, i+1)
		}
	}
	for _, name := range r.InvalidChatNames {
		row("invalid-chat-name", nil, name, 0)
	}
	for _, a := range r.UnverifiedMatches {
		row("unverified-match", &a, "", 0)
	}
	for _, name := range r.ChatOnly {
		row("chat-only", nil, name, 0)
	}
	for _, name := range r.OnBothSides {
		row("both-sides", nil, name, 0)
	}
	out.Flush()
	return out.Error()
}

func (r Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "accounts\t%d\nmigrated\t%d\nchat accounts\t%d\n", r.Accounts, r.Migrated, r.ChatAccounts)
	fmt.Fprintf(tw, "problems\t%d\n  unmigrated\t%d\n  invalid livechat_ids\t%d\n  collisions under the livechat_id collation\t%d\n  chat names that cannot be localparts\t%d\n",
		r.Problems(), len(r.Unmigrated), len(r.InvalidIDs), len(r.Collisions), len(r.InvalidChatNames))
	fmt.Fprintf(tw, "unmigrated with a same-named chat account (unverified)\t%d\nchat accounts with no wiki owner\t%d\nnames on both sides\t%d\n",
		len(r.UnverifiedMatches), len(r.ChatOnly), len(r.OnBothSides))
	for _, a := range r.Unmigrated {
		fmt.Fprintf(tw, "\nunmigrated\t%d\t%q", a.UserID, a.Login)
	}
	for _, a := range r.InvalidIDs {
		fmt.Fprintf(tw, "\ninvalid\t%d\t%q\t%q", a.UserID, a.Login, *a.LivechatID)
	}
	for _, c := range r.Collisions {
		var names []string
		for _, a := range c.LivechatIDs {
			names = append(names, fmt.Sprintf("%q (userId %d)", *a.LivechatID, a.UserID))
		}
		for _, name := range c.ChatNames {
			names = append(names, fmt.Sprintf("%q (chat account)", name))
		}
		fmt.Fprintf(tw, "\ncollision\t%s", strings.Join(names, ", "))
	}
	for _, name := range r.InvalidChatNames {
		fmt.Fprintf(tw, "\ninvalid chat name\t%q", name)
	}
	for _, a := range r.UnverifiedMatches {
		fmt.Fprintf(tw, "\nunverified match\t%d\t%q", a.UserID, a.Login)
	}
	for _, name := range r.ChatOnly {
		fmt.Fprintf(tw, "\nchat-only\t%s", name)
	}
	for _, name := range r.OnBothSides {
		fmt.Fprintf(tw, "\nboth sides\t%s", name)
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}
