package provider

import (
	"context"
	"testing"
	"time"

	"livechat-auth/wikidb"
)

// noDirectory stands in for a Directory New only checks is there.
type noDirectory struct{ Directory }

func TestNewRefusesIncompleteConfig(t *testing.T) {
	dir := noDirectory{}
	for name, cfg := range map[string]Config{
		"no domains":       {},
		"cache, no size":   {Domains: []string{"d"}, CacheTTL: time.Minute},
		"limit, no window": {Domains: []string{"d"}, MaxFailures: 3},
	} {
		if _, err := New(dir, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(nil, Config{Domains: []string{"d"}}); err == nil {
		t.Error("nil directory accepted")
	}
	a, err := New(dir, Config{Domains: []string{"d"}})
	if err != nil {
		t.Fatalf("everything off: %v", err)
	}
	if r := a.limiter.reserve(context.Background(), "x", time.Now()); r.blocked || r.id != "" || a.cache.has(cacheKey{}, time.Now()) {
		t.Fatal("zero config turned something on")
	}
}

// TestDummyCostFollowsSite: refusals that verify no real hash (unknown
// name, locked account, wrong password on a cheap legacy hash) spend a
// bcrypt of the cost the site's hashes have, not always PHP's default.
func TestDummyCostFollowsSite(t *testing.T) {
	var c costCounts
	if got := c.usual(); got != 10 {
		t.Fatalf("usual cost before any = %d, want 10", got)
	}
	c.add(12)
	c.add(12)
	c.add(10)
	c.add(0) // not bcrypt: not counted
	if got := c.usual(); got != 12 {
		t.Fatalf("usual cost = %d, want 12", got)
	}
	for _, cost := range []int{4, 10, 12} {
		if got := bcryptCost(dummyHashFor(cost)); got != cost {
			t.Errorf("dummy hash for cost %d has cost %d", cost, got)
		}
	}
	if got := bcryptCost(dummyHashFor(31)); got != 10 {
		t.Errorf("dummy hash for an unsupported cost has cost %d, want 10", got)
	}

	alice := wikidb.User{ID: 1, Login: "alice", Hash: "$2y$12$kWCi74fRvJLiNgVt7L5JruMRsHxYJbYLUULccd3dxjygKZHjtvlt.",
		LivechatID: &[]string{"alice"}[0], PassConfirm: 1}
	a, err := New(oneUser{alice}, Config{Domains: []string{"d"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = a.Authenticate(context.Background(), "alice", "d", "wrong")
	if got := a.costs.usual(); got != 12 {
		t.Errorf("after a wrong password on a cost-12 account the dummy cost is %d, want 12", got)
	}
}

// oneUser is a Directory of one account.
type oneUser struct{ u wikidb.User }

func (d oneUser) UserByLivechatID(_ context.Context, id string) (wikidb.User, bool, error) {
	return d.u, *d.u.LivechatID == id, nil
}
func (d oneUser) UserByLogin(context.Context, string) (wikidb.User, bool, error) {
	return wikidb.User{}, false, nil
}
func (d oneUser) UserByID(context.Context, int64) (wikidb.User, bool, error) {
	return wikidb.User{}, false, nil
}
func (d oneUser) Prefs(context.Context) (wikidb.Prefs, error) { return wikidb.Prefs{}, nil }
