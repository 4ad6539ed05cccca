package status

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"livechat-auth/provider"
)

// WriteLocks writes the text of livechat-auth locks: one line a lock on
// stdout, the accounts' by name, then the others by kind (the largest
// first) and name, each kind announced on stderr, so that stdout stays one
// line a lock. cfgPath is the config file the clear commands it suggests
// name; "": none.
func WriteLocks(stdout, stderr io.Writer, s Locks, now time.Time, cfgPath string) {
	if len(s.Accounts) == 0 && len(s.Others) == 0 {
		fmt.Fprintln(stdout, "no locked accounts")
		return
	}
	for _, l := range s.Accounts {
		fmt.Fprintln(stdout, DescribeLock(l, now, cfgPath))
	}
	if len(s.Others) == 0 {
		return
	}
	if len(s.Accounts) == 0 && s.NotChecked == 0 {
		fmt.Fprintln(stderr, "no wiki account is locked")
	}
	if s.Fault != "" {
		fmt.Fprintf(stderr, "could not ask the wiki which locked names are accounts: %s\n", s.Fault)
	}
	for _, k := range s.Kinds {
		if k.Kind == KindNotChecked {
			fmt.Fprintf(stderr, "%s: %d %s the wiki was not asked about (some may be accounts)\n", k.Kind, k.N, plural(k.N, "lock", "locks"))
		} else {
			fmt.Fprintf(stderr, "%s: %d %s of no wiki account\n", k.Kind, k.N, plural(k.N, "lock", "locks"))
		}
		var names []OtherLock
		for _, o := range s.Others {
			if o.Kind == k.Kind {
				names = append(names, o)
			}
		}
		slices.SortFunc(names, func(a, b OtherLock) int { return strings.Compare(a.Name, b.Name) })
		for _, o := range names {
			fmt.Fprintln(stdout, DescribeLock(o.Lock, now, cfgPath))
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// DescribeLock says on one line who is locked, why and until when, and
// how to clear it with the config file cfgPath ("": none named). A name
// with characters that are not printable is quoted, so that it never
// drives the terminal, and the suggested command works when pasted.
func DescribeLock(l provider.Lock, now time.Time, cfgPath string) string {
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
