package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// runLocks lists the accounts the failure limit has locked, or clears
// one lock, by asking the daemon that keeps the shared failure counts.
// Nothing needs restarting. Exit 0 on success, 1 when "clear" finds no
// lock, 2 when no daemon can be asked.
func runLocks(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("locks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livechat-auth locks [--config FILE]              list locked accounts\n       livechat-auth locks [--config FILE] clear USER   clear one lock")
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "locks", err)
	}
	clear := fs.NArg() == 2 && fs.Arg(0) == "clear"
	if fs.NArg() != 0 && !clear {
		fs.Usage()
		return exitError
	}
	client, err := findControl(cfg, fs.Lookup("config").Value.String(), getenv)
	if err != nil {
		return fail(stderr, "locks", err)
	}
	if clear {
		user, _, _ := strings.Cut(fs.Arg(1), "@") // alice@chat.example.org names alice
		cleared, err := client.unlock(ctx, user)
		switch {
		case err != nil:
			return fail(stderr, "locks", err)
		case !cleared:
			fmt.Fprintf(stdout, "%s has no failed sign-ins to clear\n", user)
			return exitRefused
		}
		fmt.Fprintf(stdout, "cleared the failed sign-ins of %s: not locked now\n", user)
		return exitOK
	}
	locks, err := client.locks(ctx)
	if err != nil {
		return fail(stderr, "locks", err)
	}
	if len(locks) == 0 {
		fmt.Fprintln(stdout, "no locked accounts")
	}
	for _, l := range locks {
		fmt.Fprintln(stdout, describeLock(l, time.Now(), fs.Lookup("config").Value.String()))
	}
	return exitOK
}

// describeLock says who is locked, why and until when, and how to clear
// it with the same config file.
func describeLock(l lockInfo, now time.Time, cfgPath string) string {
	sealed := ""
	if l.Sealed {
		sealed = fmt.Sprintf(", sealed after %d guesses (a recently proven password is refused too)", l.Guesses)
	}
	config := ""
	if cfgPath != "" {
		config = " --config " + shellQuote(cfgPath)
	}
	name, hint := l.Name, ""
	switch {
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		// A name is whatever a client sent: never let it drive the terminal.
		name = strconv.Quote(name)
	case strings.HasPrefix(name, "-"):
		hint = fmt.Sprintf("; clear with: livechat-auth locks%s clear -- %s", config, shellQuote(name))
	default:
		hint = fmt.Sprintf("; clear with: livechat-auth locks%s clear %s", config, shellQuote(name))
	}
	return fmt.Sprintf("%s: locked after %d failed sign-ins%s, until %s (%s from now)%s",
		name, l.Failures, sealed, l.Until.Local().Format(time.DateTime), l.Until.Sub(now).Round(time.Second), hint)
}

// shellQuote quotes s for a shell command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '@' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f)
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
