package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"livechat-auth/provider/ids"
	"livechat-auth/wikidb"
)

const idsUsage = `usage: livechat-auth ids <suggest LOGIN | report | plan> [--config FILE] [--chat-accounts FILE] [--format table|json|csv]

  suggest LOGIN   the livechat_id a new user with this login should get
  report          migration state: unmigrated users, invalid and colliding ids,
                  chat accounts with no wiki owner, names on both sides
  plan            proposed assignments as reviewable SQL (nothing is written)

--chat-accounts names a file of the chat server's account names, one per line
(for example the output of "ejabberdctl registered_users chat.example.org").
`

// runIDs runs the migration tools. They only read: plan prints SQL for
// the operator to review and apply.
func runIDs(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, idsUsage)
		return exitError
	}
	verb := args[0]
	fs := flag.NewFlagSet("ids "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	chatFile := fs.String("chat-accounts", "", "file of chat account names, one per line")
	format := fs.String("format", "table", "report format: table, json or csv")
	cfg, err := loadConfig(fs, args[1:], getenv)
	if err != nil {
		return fail(stderr, "ids", err)
	}
	chat, err := readNames(*chatFile)
	if err != nil {
		return fail(stderr, "ids", err)
	}
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		return fail(stderr, "ids", err)
	}
	defer store.Close()
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return fail(stderr, "ids", err)
	}
	switch verb {
	case "suggest":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, idsUsage)
			return exitError
		}
		taken := ids.Taken{}
		for _, a := range accounts {
			if a.LivechatID != nil {
				taken.Add(*a.LivechatID)
			}
		}
		for _, name := range chat {
			taken.Add(name)
		}
		fmt.Fprintln(stdout, ids.Suggest(fs.Arg(0), taken))
	case "report":
		if err := writeReport(stdout, ids.BuildReport(accounts, chat), *format); err != nil {
			fmt.Fprintln(stderr, "livechat-auth ids:", err)
			return exitError
		}
	case "plan":
		plan := ids.BuildPlan(accounts, chat)
		fmt.Fprintf(stdout, "-- livechat-auth ids plan: %d assignments for %d accounts. Review, then apply with a user that may UPDATE users_users.\n", len(plan), len(accounts))
		for _, a := range plan {
			fmt.Fprintln(stdout, a.SQL())
		}
	default:
		fmt.Fprint(stderr, idsUsage)
		return exitError
	}
	return exitOK
}

// readNames reads one name per line; blank lines and # comments are skipped.
func readNames(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--chat-accounts: %w", err)
	}
	defer f.Close()
	var names []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if user, _, ok := strings.Cut(line, "@"); ok { // accept full JIDs too
			line = user
		}
		names = append(names, line)
	}
	return names, s.Err()
}

func writeReport(w io.Writer, r ids.Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		out := csv.NewWriter(w)
		_ = out.Write([]string{"kind", "user_id", "login", "livechat_id"}) // errors surface from Flush
		for _, a := range r.Unmigrated {
			_ = out.Write([]string{"unmigrated", strconv.FormatInt(a.ID, 10), a.Login, ""})
		}
		for _, a := range r.InvalidIDs {
			_ = out.Write([]string{"invalid-id", strconv.FormatInt(a.ID, 10), a.Login, *a.LivechatID})
		}
		for _, group := range r.Collisions {
			for _, id := range group {
				_ = out.Write([]string{"collision", "", "", id})
			}
		}
		for _, name := range r.ChatOnly {
			_ = out.Write([]string{"chat-only", "", "", name})
		}
		for _, name := range r.OnBothSides {
			_ = out.Write([]string{"both-sides", "", "", name})
		}
		out.Flush()
		return out.Error()
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "accounts\t%d\nmigrated\t%d\nunmigrated\t%d\ninvalid livechat_ids\t%d\ncolliding livechat_ids\t%d\nchat accounts with no wiki owner\t%d\nnames on both sides\t%d\n",
			r.Accounts, r.Migrated, len(r.Unmigrated), len(r.InvalidIDs), len(r.Collisions), len(r.ChatOnly), len(r.OnBothSides))
		for _, a := range r.Unmigrated {
			fmt.Fprintf(tw, "\nunmigrated\t%d\t%s", a.ID, a.Login)
		}
		for _, a := range r.InvalidIDs {
			fmt.Fprintf(tw, "\ninvalid\t%d\t%s\t%q", a.ID, a.Login, *a.LivechatID)
		}
		for _, group := range r.Collisions {
			fmt.Fprintf(tw, "\ncollision\t%s", strings.Join(group, ", "))
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
	return fmt.Errorf("--format %q: use table, json or csv", format)
}
