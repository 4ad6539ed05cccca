package status

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"livechat-auth/provider"
)

// A locked name need not be a wiki account's: the account may have been
// deleted or renamed since, or never migrated, and other limits count
// under keys that are no name (migration:<name>, migration-by:<login>).
// However many there are, the page shows the locks of wiki accounts first
// and counts the others apart.

const (
	// LookupMax is how many locked names one view asks the wiki about, the
	// newest locks first: a flood of names costs no more than this many
	// lookups. The rest are shown apart as KindNotChecked.
	LookupMax = 200
	// OtherRowsMax is how many of the other locks the page lists; it
	// counts the rest.
	OtherRowsMax = 100
	// KindNotChecked is the kind of a locked name the wiki was not asked
	// about: past LookupMax, or after a lookup failed.
	KindNotChecked = "not checked"
)

// IsAccount reports whether a locked name (normalised, as provider.Lock
// has it) is a wiki account. false with a provider.Reason says why it is
// not one ("unknown-user", "unmigrated", …); any other error is a fault,
// and the name is shown as not checked.
type IsAccount func(ctx context.Context, name string) (bool, error)

// Locks is the failure locks split for display.
type Locks struct {
	Accounts []provider.Lock // locks of wiki accounts, by name
	Others   []OtherLock     // every other lock, the newest first
	Kinds    []KindCount     // Others counted by kind, the largest count first
	// NotChecked counts the Others of KindNotChecked: names past the
	// lookups allowed, or left after a fault. Some may be accounts.
	NotChecked int
	Fault      string // the lookup failure that left names not checked; "" if none
}

// OtherLock is a lock that is no wiki account's.
type OtherLock struct {
	provider.Lock
	// Kind is the key's prefix for the counts of other limits
	// ("migration" for migration:alice), the reason a name is no account
	// ("unknown-user", "unmigrated", …), or KindNotChecked.
	Kind string
}

// KindCount is how many other locks are of one kind.
type KindCount struct {
	Kind string
	N    int
}

// KeyKind returns the prefix of a failure count's key that is no
// sign-in name, such as "migration" for "migration:alice", and true; for
// a name, "" and false. A name is a normalised localpart, which never
// holds a colon.
func KeyKind(key string) (string, bool) {
	kind, _, ok := strings.Cut(key, ":")
	if !ok || kind == "" {
		return "", false
	}
	return kind, true
}

// SplitLocks sorts locks into those of wiki accounts and the others,
// asking isAccount about at most lookupMax names, the newest locks (by
// when they lift) first. After a fault or the end of ctx it asks no more.
// A nil isAccount checks no name.
func SplitLocks(ctx context.Context, locks []provider.Lock, isAccount IsAccount, lookupMax int) Locks {
	newest := slices.Clone(locks)
	slices.SortStableFunc(newest, func(a, b provider.Lock) int {
		return cmp.Or(b.Until.Compare(a.Until), strings.Compare(a.Name, b.Name))
	})
	var out Locks
	asked := 0
	counts := map[string]int{}
	for _, l := range newest {
		kind, isKey := KeyKind(l.Name)
		if !isKey {
			kind = KindNotChecked
			if isAccount != nil && asked < lookupMax && out.Fault == "" {
				if err := ctx.Err(); err != nil {
					out.Fault = "no time left to ask the wiki: " + err.Error()
				} else {
					asked++
					k, err := kindOf(ctx, isAccount, l.Name)
					if err != nil {
						out.Fault = err.Error()
					}
					kind = k
				}
			}
		}
		if kind == "" {
			out.Accounts = append(out.Accounts, l)
			continue
		}
		out.Others = append(out.Others, OtherLock{Lock: l, Kind: kind})
		counts[kind]++
	}
	slices.SortFunc(out.Accounts, func(a, b provider.Lock) int { return strings.Compare(a.Name, b.Name) })
	for kind, n := range counts {
		out.Kinds = append(out.Kinds, KindCount{Kind: kind, N: n})
	}
	slices.SortFunc(out.Kinds, func(a, b KindCount) int { return cmp.Or(b.N-a.N, strings.Compare(a.Kind, b.Kind)) })
	out.NotChecked = counts[KindNotChecked]
	return out
}

// kindOf asks whether name is an account: "" when it is, the reason when
// it is not, KindNotChecked and the error on a fault.
func kindOf(ctx context.Context, isAccount IsAccount, name string) (string, error) {
	ok, err := isAccount(ctx, name)
	var reason provider.Reason
	switch {
	case errors.As(err, &reason):
		return string(reason), nil
	case err != nil:
		return KindNotChecked, err
	case !ok:
		return string(provider.ReasonUnknownUser), nil
	}
	return "", nil
}
