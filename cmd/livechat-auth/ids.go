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
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"livechat-auth/provider/ids"
	"livechat-auth/wikidb"
)

const idsUsage = `usage: livechat-auth ids <suggest LOGIN | report | plan> [--config FILE] [--chat-accounts FILE] [--format table|json|csv] [--merge-by-name]

  suggest LOGIN   the livechat_id a new user with this login should get
  report          migration state: unmigrated users, invalid ids, names the
                  wiki's livechat_id key holds equal, chat names that cannot be
                  localparts; exits 0 when none, 1 when it found some, 2 on error
  plan            proposed assignments as SQL for one transaction (nothing is written)

--chat-accounts names a file of the chat server's account names, one per line,
as "name" or "name@domain" (for example the output of
"ejabberdctl registered_users chat.example.org").
--merge-by-name (plan; unsafe) gives an unmigrated user the chat account named
as its login instead of writing that line commented out: a shared name proves
no ownership, and the wiki user would take over a stranger's chat account.
`

// exitProblems is ids report's exit code when it found problems.
const exitProblems = 1

// idsQueryTimeout bounds each of the tools' queries, which read and
// compare whole tables: longer than a sign-in's.
const idsQueryTimeout = 2 * time.Minute

var _ ids.Checker = (*wikidb.Store)(nil)

// runIDs runs the migration tools. They only read: plan prints SQL for
// the operator to review and apply.
func runIDs(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, idsUsage)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, idsUsage)
		return exitOK
	}
	verb := args[0]
	fs := flag.NewFlagSet("ids "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	chatFile := fs.String("chat-accounts", "", "file of chat account names, one per line")
	format := fs.String("format", "table", "report format: table, json or csv")
	mergeByName := fs.Bool("merge-by-name", false, "plan: merge wiki users into same-named chat accounts (unsafe)")
	cfg, err := loadConfig(fs, args[1:], getenv)
	if err != nil {
		return fail(stderr, "ids", err)
	}
	if !slices.Contains(reportFormats, *format) {
		return fail(stderr, "ids", fmt.Errorf("--format %q: use table, json or csv", *format))
	}
	lines, err := readNames(*chatFile)
	if err != nil {
		return fail(stderr, "ids", err)
	}
	chat := ids.NewChatNames(lines)
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: max(cfg.Wiki.QueryTimeout, idsQueryTimeout), MaxOpenConns: 1})
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
		id, err := ids.SuggestFor(ctx, store, fs.Arg(0), accounts, chat)
		if err != nil {
			return fail(stderr, "ids", err)
		}
		fmt.Fprintln(stdout, id)
	case "report":
		r, err := ids.BuildReport(ctx, store, accounts, chat)
		if err != nil {
			return fail(stderr, "ids", err)
		}
		if err := writeReport(stdout, r, *format); err != nil {
			return fail(stderr, "ids", err)
		}
		if r.Problems() > 0 {
			return exitProblems
		}
	case "plan":
		plan, err := ids.BuildPlan(ctx, store, accounts, chat, ids.PlanOptions{MergeByName: *mergeByName})
		if err != nil {
			return fail(stderr, "ids", err)
		}
		if err := ids.WritePlan(stdout, plan, len(accounts)); err != nil {
			return fail(stderr, "ids", err)
		}
	default:
		fmt.Fprint(stderr, idsUsage)
		return exitError
	}
	return exitOK
}

// readNames reads one name per line; blank lines and # comments are
// skipped.
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
		names = append(names, line)
	}
	return names, s.Err()
}

// reportFormats are the formats of ids report.
var reportFormats = []string{"table", "json", "csv"}

func writeReport(w io.Writer, r ids.Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeReportCSV(w, r)
	case "table":
		return writeReportTable(w, r)
	}
	return fmt.Errorf("--format %q: use table, json or csv", format)
}

// writeReportCSV writes one row per finding; the rows of one collision
// share its number.
func writeReportCSV(w io.Writer, r ids.Report) error {
	out := csv.NewWriter(w)
	row := func(kind string, a *ids.Account, chatName string, collision int) {
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

func writeReportTable(w io.Writer, r ids.Report) error {
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
