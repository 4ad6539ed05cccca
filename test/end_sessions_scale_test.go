package test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"livechat-auth/provider"
)

// TestEndSessionsAtScale: 2,000 accounts of a generated wiki are signed
// in to ejabberd at once (real sessions, through the automatic daemon);
// then 200 are suspended in the wiki. One check of the online users
// (end-sessions) reads their accounts in batches: a few queries where
// one a user would be 2,000, and it decides exactly what the provider
// decides of each name one by one. Run for real, it ends exactly the
// 200 suspended sessions and leaves the 1,800 others open.
func TestEndSessionsAtScale(t *testing.T) {
	const n = 2000
	w := newWiki(t)
	const host = "chat.test"
	sum := md5.Sum([]byte("scale-pw")) // a legacy md5 hash: fast to verify 2,000 times
	hash := hex.EncodeToString(sum[:])
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("scale%04d", i))
	}
	for start := 0; start < n; start += 500 {
		var rows []string
		var args []any
		for i := start; i < start+500; i++ {
			rows = append(rows, "(?, ?, ?, ?, ?, 1700000000, 1700000000, 1700000000, '')")
			args = append(args, 10000+i, names[i], names[i]+"@example.org", hash, names[i])
		}
		mustExec(t, w.Root, "INSERT INTO users_users (userId, login, email, hash, livechat_id, pass_confirm, registrationDate, created, password) VALUES "+strings.Join(rows, ", "), args...)
	}
	dir := t.TempDir()
	cfgPath, _ := writeConfig(t, dir, w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, Admin: "syncbot@" + host})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)

	began := time.Now()
	clients := make([]*onlineClient, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 40)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			clients[i] = stayOnline(t, addr, names[i]+"@"+host, "scale-pw")
		})
	}
	wg.Wait()
	t.Logf("%d sessions signed in in %s", n, time.Since(began).Round(time.Millisecond))

	suspended := map[string]bool{}
	for i := 0; i < n; i += 10 {
		suspended[names[i]] = true
	}
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE userId >= 10000 AND MOD(userId, 10) = 0")

	// The one-by-one answer: the provider asked about each name alone.
	store := openStore(t, w.ReaderDSN)
	auth, err := provider.New(store, provider.Config{Domains: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	q0, t0 := store.Queries(), time.Now()
	want := map[string]string{}
	for _, name := range names {
		_, err := auth.Resolve(context.Background(), provider.Lookup{Name: name, Domain: host})
		var r provider.Reason
		if errors.As(err, &r) && r == provider.ReasonSuspended {
			want[name+"@"+host] = string(r)
		} else if err != nil {
			t.Fatalf("one by one, %s: %v", name, err)
		}
	}
	oneByOne, oneByOneTook := store.Queries()-q0, time.Since(t0)

	settings := endSessionsSettings(addr, time.Minute)
	writeConfig(t, dir, w.ReaderDSN, []string{host}, settings)
	pass := func(args ...string) (lines map[string]string, queries int, took time.Duration) {
		t.Helper()
		out, err := exec.Command(binPath, append([]string{"end-sessions", "--config", cfgPath}, args...)...).Output()
		if err != nil {
			t.Fatalf("end-sessions %v: %v\n%s", args, err, out)
		}
		lines = map[string]string{}
		var summary string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if jid, rest, ok := strings.Cut(l, ": "); ok && strings.HasSuffix(jid, "@"+host) {
				lines[jid] = rest
			} else {
				summary = l
			}
		}
		m := regexp.MustCompile(`^(\d+) online, .*; (\d+) wiki queries, (\S+)$`).FindStringSubmatch(summary)
		if m == nil || m[1] != strconv.Itoa(n) {
			t.Fatalf("end-sessions %v summary: %q", args, summary)
		}
		queries, _ = strconv.Atoi(m[2])
		took, _ = time.ParseDuration(m[3])
		return lines, queries, took
	}
	dry, queries, took := pass("--dry-run")
	t.Logf("a check of %d sessions: %d wiki queries in %s; one by one: %d queries in %s", n, queries, took, oneByOne, oneByOneTook.Round(time.Millisecond))
	if queries > 10 {
		t.Errorf("a check of %d sessions sent %d wiki queries; want a few (batches of 500)", n, queries)
	}
	if len(dry) != len(want) {
		t.Errorf("the check would end %d sessions; one by one, %d are refused", len(dry), len(want))
	}
	for jid, reason := range want {
		if dry[jid] != "would end ("+reason+")" {
			t.Errorf("%s: the check says %q; one by one: %s", jid, dry[jid], reason)
		}
	}

	ended, _, _ := pass()
	if len(ended) != len(want) {
		t.Errorf("%d sessions ended, want %d", len(ended), len(want))
	}
	deadline := time.Now().Add(10 * time.Second)
	var open, closedWrongly []string
	for i, c := range clients {
		if suspended[names[i]] {
			select {
			case <-c.closed:
			case <-time.After(time.Until(deadline)):
				open = append(open, names[i])
			}
		} else if c.isClosed() {
			closedWrongly = append(closedWrongly, names[i])
		}
	}
	sort.Strings(open)
	if len(open) > 0 || len(closedWrongly) > 0 {
		t.Errorf("suspended but still online: %v; ended though allowed: %v", open, closedWrongly)
	}
}
