package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"livechat-auth/provider/ids"
	"livechat-auth/wikidb"
)

const idsUsage = `usage: livechat-auth ids suggest LOGIN | report | plan [flags]

The migration tools. They only read the wiki: plan prints SQL for the
operator to review and apply.

  suggest LOGIN   the livechat_id a new user with this login should get
  report          migration state: unmigrated users, invalid ids, names the
                  wiki's livechat_id key holds equal, chat names that cannot be
                  localparts
  plan            proposed assignments as SQL for one transaction (nothing is written)

flags:
  --config FILE          the config FILE (YAML); env LIVECHAT_AUTH_CONFIG
  --chat-accounts FILE   the chat server's account names, one per line, as
                         "name" or "name@domain" (for example the output of
                         "ejabberdctl registered_users chat.example.org"); default none
  --format FORMAT        report: table, json or csv (default table)
  --merge-by-name        plan, unsafe: give an unmigrated user the chat account
                         named as its login instead of writing that line
                         commented out: a shared name proves no ownership, and
                         the wiki user would take over a stranger's chat account

signals: SIGINT and SIGTERM stop it

exit codes: 0 done (report: nothing found); 1 report found problems;
2 bad usage, settings that do not load, or a fault
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
	if !slices.Contains(ids.ReportFormats, *format) {
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
		if err := r.Write(stdout, *format); err != nil {
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
