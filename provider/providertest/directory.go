// Package providertest holds what tests of provider and its edges share:
// an in-memory Directory that matches names the way Tiki's database
// collation does, and the table of "which account" cases that every
// Directory, the fake and the real wikidb.Store on MariaDB, must pass
// (see RunResolve).
package providertest

import (
	"context"
	"sync"
	"sync/atomic"

	"livechat-auth/wikidb"
)

// Directory is an in-memory provider.Directory. Like wikidb.Store on a
// Tiki 24 database, it matches names under utf8mb4_unicode_ci (see
// Collate), not exactly, so whatever trusts its answer without checking
// the match fails here as it would in production. It is safe for
// concurrent use.
type Directory struct {
	mu     sync.Mutex
	users  []wikidb.User
	prefs  wikidb.Prefs
	err    error
	faults map[string]error
	groups Groups

	lookups atomic.Int64
}

// NewDirectory returns a Directory holding users, in userId order as
// given, with the site preferences prefs.
func NewDirectory(prefs wikidb.Prefs, users ...wikidb.User) *Directory {
	return &Directory{users: append([]wikidb.User(nil), users...), prefs: prefs, faults: map[string]error{}}
}

// Lookups counts the account lookups made so far.
func (d *Directory) Lookups() int64 { return d.lookups.Load() }

// SetErr makes every question fail with err (nil: answer again), as an
// unreachable database does.
func (d *Directory) SetErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

// FailFor makes a lookup of exactly key (a name or login asked for) fail
// with err.
func (d *Directory) FailFor(key string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults[key] = err
}

// Add adds an account.
func (d *Directory) Add(u wikidb.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users = append(d.users, u)
}

// Update changes the account with this userId in place.
func (d *Directory) Update(id int64, change func(*wikidb.User)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.users {
		if d.users[i].ID == id {
			change(&d.users[i])
		}
	}
}

func (d *Directory) fault(key string) error {
	if d.err != nil {
		return d.err
	}
	return d.faults[key]
}

// UserByLivechatID is wikidb's query: the account whose livechat_id
// collates equal to id, else an unmigrated one whose login does.
func (d *Directory) UserByLivechatID(_ context.Context, id string) (wikidb.User, bool, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fault(id); err != nil {
		return wikidb.User{}, false, err
	}
	for _, u := range d.users {
		if u.LivechatID != nil && Collate(*u.LivechatID) == Collate(id) {
			return u, true, nil
		}
	}
	for _, u := range d.users {
		if u.LivechatID == nil && Collate(u.Login) == Collate(id) {
			return u, true, nil
		}
	}
	return wikidb.User{}, false, nil
}

// UsersByLivechatIDs is wikidb's batch: UserByLivechatID for each of
// ids, counted as one lookup (one round trip).
func (d *Directory) UsersByLivechatIDs(ctx context.Context, ids []string) ([]wikidb.User, []bool, error) {
	users, found := make([]wikidb.User, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		var err error
		if users[i], found[i], err = d.UserByLivechatID(ctx, id); err != nil {
			return nil, nil, err
		}
		d.lookups.Add(-1)
	}
	d.lookups.Add(1)
	return users, found, nil
}

// UserByLogin returns the first account whose login collates equal to
// login.
func (d *Directory) UserByLogin(_ context.Context, login string) (wikidb.User, bool, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fault(login); err != nil {
		return wikidb.User{}, false, err
	}
	for _, u := range d.users {
		if Collate(u.Login) == Collate(login) {
			return u, true, nil
		}
	}
	return wikidb.User{}, false, nil
}

// UserByID returns the account with this userId.
func (d *Directory) UserByID(_ context.Context, id int64) (wikidb.User, bool, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fault(""); err != nil {
		return wikidb.User{}, false, err
	}
	for _, u := range d.users {
		if u.ID == id {
			return u, true, nil
		}
	}
	return wikidb.User{}, false, nil
}

// Prefs returns the site preferences.
func (d *Directory) Prefs(context.Context) (wikidb.Prefs, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.prefs, d.err
}
