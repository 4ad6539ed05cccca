package status

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"livechat-auth/provider"
)

// wiki is a fake IsAccount: the accounts it has, the names it knows
// without a livechat_id, and the names asked.
type wiki struct {
	accounts, unmigrated []string
	fault                error
	asked                []string
}

func (w *wiki) isAccount(_ context.Context, name string) (bool, error) {
	w.asked = append(w.asked, name)
	switch {
	case w.fault != nil:
		return false, w.fault
	case slices.Contains(w.accounts, name):
		return true, nil
	case slices.Contains(w.unmigrated, name):
		return false, provider.ReasonUnmigrated
	}
	return false, provider.ReasonUnknownUser
}

func TestSplitLocks(t *testing.T) {
	now := time.Unix(1800000000, 0)
	lock := func(name string, lifts time.Duration) provider.Lock {
		return provider.Lock{Name: name, Failures: 6, Until: now.Add(lifts)}
	}
	// Newest first: the lock that lifts last was made last.
	locks := []provider.Lock{lock("zoe", 1*time.Minute), lock("alice", 2*time.Minute), lock("nobody", 3*time.Minute),
		lock("migration:carol", 4*time.Minute), lock("rupert", 5*time.Minute), lock("ghost", 6*time.Minute)}
	type other struct{ name, kind string }
	for _, c := range []struct {
		name      string
		wiki      *wiki // nil: no IsAccount
		lookupMax int
		cancel    bool
		accounts  []string
		others    []other // newest first
		asked     []string
		kinds     string
		fault     bool
	}{
		{name: "accounts first, the others by kind", wiki: &wiki{accounts: []string{"alice", "zoe"}, unmigrated: []string{"rupert"}}, lookupMax: 10,
			accounts: []string{"alice", "zoe"},
			others:   []other{{"ghost", "unknown-user"}, {"rupert", "unmigrated"}, {"migration:carol", "migration"}, {"nobody", "unknown-user"}},
			asked:    []string{"ghost", "rupert", "nobody", "alice", "zoe"},
			kinds:    "unknown-user 2, migration 1, unmigrated 1"},
		{name: "only the newest names are asked", wiki: &wiki{accounts: []string{"alice", "zoe"}}, lookupMax: 2,
			others: []other{{"ghost", "unknown-user"}, {"rupert", "unknown-user"}, {"migration:carol", "migration"}, {"nobody", "not checked"},
				{"alice", "not checked"}, {"zoe", "not checked"}},
			asked: []string{"ghost", "rupert"},
			kinds: "not checked 3, unknown-user 2, migration 1"},
		{name: "a fault stops the lookups", wiki: &wiki{fault: errors.New("database down")}, lookupMax: 10, fault: true,
			others: []other{{"ghost", "not checked"}, {"rupert", "not checked"}, {"migration:carol", "migration"}, {"nobody", "not checked"},
				{"alice", "not checked"}, {"zoe", "not checked"}},
			asked: []string{"ghost"},
			kinds: "not checked 5, migration 1"},
		{name: "no time left", wiki: &wiki{}, lookupMax: 10, cancel: true, fault: true,
			others: []other{{"ghost", "not checked"}, {"rupert", "not checked"}, {"migration:carol", "migration"}, {"nobody", "not checked"},
				{"alice", "not checked"}, {"zoe", "not checked"}},
			kinds: "not checked 5, migration 1"},
		{name: "no lookup", lookupMax: 10,
			others: []other{{"ghost", "not checked"}, {"rupert", "not checked"}, {"migration:carol", "migration"}, {"nobody", "not checked"},
				{"alice", "not checked"}, {"zoe", "not checked"}},
			kinds: "not checked 5, migration 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel {
				cancel()
			}
			var isAccount IsAccount
			if c.wiki != nil {
				isAccount = c.wiki.isAccount
			}
			got := SplitLocks(ctx, slices.Clone(locks), isAccount, c.lookupMax)
			var accounts []string
			for _, l := range got.Accounts {
				accounts = append(accounts, l.Name)
			}
			var others []other
			for _, o := range got.Others {
				others = append(others, other{o.Name, o.Kind})
			}
			var kinds []string
			for _, k := range got.Kinds {
				kinds = append(kinds, fmt.Sprintf("%s %d", k.Kind, k.N))
			}
			if !slices.Equal(accounts, c.accounts) || !slices.Equal(others, c.others) || strings.Join(kinds, ", ") != c.kinds {
				t.Errorf("accounts %v, others %v, kinds %v\nwant %v, %v, %v", accounts, others, kinds, c.accounts, c.others, c.kinds)
			}
			if c.wiki != nil && !slices.Equal(c.wiki.asked, c.asked) {
				t.Errorf("asked %v; want %v", c.wiki.asked, c.asked)
			}
			if (got.Fault != "") != c.fault {
				t.Errorf("fault %q", got.Fault)
			}
			want := 0
			for _, o := range c.others {
				if o.kind == KindNotChecked {
					want++
				}
			}
			if got.NotChecked != want {
				t.Errorf("not checked %d; want %d", got.NotChecked, want)
			}
		})
	}
}

// TestPageLocks: the page lists the locks of accounts in #locks and the
// others in a closed <details>, counted, at most OtherRowsMax rows (each
// with its button), names escaped, and asks the wiki about no more than
// LookupMax names.
func TestPageLocks(t *testing.T) {
	now := time.Unix(1800000000, 0)
	var locks []provider.Lock
	for i := range 250 {
		locks = append(locks, provider.Lock{Name: fmt.Sprintf("nobody%03d", i), Failures: 6, Until: now.Add(time.Duration(i) * time.Second)})
	}
	// alice locked first (and so looked up), the odd names last.
	locks = append(locks, provider.Lock{Name: "alice", Failures: 6, Until: now.Add(time.Hour)},
		provider.Lock{Name: "<b>x</b>", Failures: 6, Until: now.Add(time.Hour)},
		provider.Lock{Name: "migration:carol", Failures: 6, Until: now.Add(time.Hour)})
	w := &wiki{accounts: []string{"alice"}}
	h := New(Config{
		Snapshot:  func(context.Context) Snapshot { return Snapshot{Locks: locks} },
		ClearLock: func(string) bool { return false },
		IsAccount: w.isAccount,
		Now:       func() time.Time { return now },
	})
	rw := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "127.0.0.1:8485"
	h.ServeHTTP(rw, r)
	page := rw.Body.String()
	if len(w.asked) != LookupMax {
		t.Errorf("%d names looked up; want %d", len(w.asked), LookupMax)
	}
	section := func(start, end string) string {
		i := strings.Index(page, start)
		if i < 0 {
			t.Fatalf("no %s on the page:\n%s", start, page)
		}
		j := strings.Index(page[i:], end)
		if j < 0 {
			t.Fatalf("no %s after %s", end, start)
		}
		return page[i : i+j]
	}
	rowName := regexp.MustCompile(`<tr data-name="([^"]*)"`)
	names := func(html string) []string {
		var out []string
		for _, m := range rowName.FindAllStringSubmatch(html, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := names(section(`<table id="locks">`, "</table>")); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("accounts' table: %v", got)
	}
	others := section(`<details id="other-locks">`, "</details>")
	if got := names(others); len(got) != OtherRowsMax || got[0] != "&lt;b&gt;x&lt;/b&gt;" || got[1] != "migration:carol" {
		t.Errorf("other locks: %d rows, first %v", len(got), got[:min(len(got), 3)])
	}
	for _, want := range []string{
		"<summary>252 locks of names that are no wiki account (unknown-user: 199, not checked: 52, migration: 1)</summary>",
		`<p id="other-locks-more">and 152 more</p>`,
		"those not checked may be accounts",
	} {
		if !strings.Contains(others, want) {
			t.Errorf("no %q in\n%s", want, others)
		}
	}
	if strings.Contains(page, "<b>x") || strings.Contains(page, "details open") {
		t.Error("a name unescaped, or the list open")
	}
	if n := strings.Count(others, `<button`); n != OtherRowsMax {
		t.Errorf("%d buttons in the other locks; want %d", n, OtherRowsMax)
	}
}

func TestKeyKind(t *testing.T) {
	for key, want := range map[string]string{"alice": "", "migration:alice": "migration", "migration-by:Bob Smith": "migration-by", ":x": ""} {
		kind, ok := KeyKind(key)
		if kind != want || ok != (want != "") {
			t.Errorf("KeyKind(%q) = %q, %v; want %q", key, kind, ok, want)
		}
	}
}
