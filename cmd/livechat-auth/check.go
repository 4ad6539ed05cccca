package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/status"
)

// runCheck diagnoses one sign-in: it prints "allowed" with the account and
// its groups, or "refused" with the reason code, and exits 0, 1 or 2.
func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("check", stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "check", err)
	}
	if fs.NArg() != 1 || !strings.Contains(fs.Arg(0), "@") {
		fs.Usage()
		return exitError
	}
	address := fs.Arg(0)
	at := strings.LastIndex(address, "@")
	user, domain := address[:at], address[at+1:]

	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "livechat-auth check: read password:", err)
		return exitError
	}
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "check", err)
	}
	defer closeLog()
	auth, store, _, err := app.OpenAuthenticator(ctx, cfg, log)
	if err != nil {
		return fail(stderr, "check", err)
	}
	defer store.Close()

	acct, err := auth.Authenticate(ctx, user, domain, password)
	lockLine, locked := lockStatus(ctx, cfg, fs.Lookup("config").Value.String(), getenv, user)
	defer fmt.Fprintln(stdout, lockLine) // after the decision line
	var reason provider.Reason
	switch {
	case errors.As(err, &reason):
		fmt.Fprintf(stdout, "refused: %s\n", string(reason))
		return exitRefused
	case err != nil:
		fmt.Fprintf(stdout, "error: %v\n", err)
		return exitError
	case locked:
		// The wiki would let it in, the chat server's limit does not
		// (unless this password was proven recently and the lock is not
		// sealed: only the daemon knows).
		fmt.Fprintf(stdout, "refused: %s (the password and the account are good, but the chat server's failure limit has locked %s; see lock below)\n",
			string(provider.ReasonRateLimited), acct.JID)
		return exitRefused
	}
	fmt.Fprintf(stdout, "allowed: %s (wiki login %q, userId %d)\n", acct.JID, acct.User.Login, acct.User.ID)
	groups, err := store.Groups(ctx, acct.User.ID)
	if err != nil {
		fmt.Fprintf(stdout, "groups: unavailable: %v\n", err)
		return exitOK
	}
	sort.Strings(groups)
	fmt.Fprintf(stdout, "groups: %s\n", strings.Join(groups, ", "))
	return exitOK
}

// readPassword prompts without echo when stdin is a terminal, and reads
// one line otherwise.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// lockStatus says whether the failure limit shared by the chat server's
// sign-ins has locked user, asking the daemon that keeps it (check's own
// decision does not see those failures), as the "lock:" line to print.
func lockStatus(ctx context.Context, cfg config.Config, cfgPath string, getenv func(string) string, user string) (line string, locked bool) {
	client, err := app.FindControl(cfg, cfgPath, getenv)
	if err != nil {
		return fmt.Sprintf("lock: unknown: %v", err), false
	}
	l, locked, err := client.LockOf(ctx, user)
	switch {
	case err != nil:
		return fmt.Sprintf("lock: unknown: the daemon did not answer: %v", err), false
	case locked:
		return "lock: " + status.DescribeLock(l, time.Now(), cfgPath), true
	}
	return "lock: none", false
}
