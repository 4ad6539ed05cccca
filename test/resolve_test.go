package test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"livechat-auth/provider/providertest"
	"livechat-auth/wikidb"
)

// TestResolveOnMariaDB runs provider's "which account" table against
// wikidb.Store on MariaDB with Tiki's utf8mb4_unicode_ci collation: the
// same table provider's unit tests run against the in-memory Directory.
func TestResolveOnMariaDB(t *testing.T) {
	w := newWiki(t)
	replaceAccounts(t, w.Root, providertest.Accounts(t), providertest.Prefs)
	providertest.RunResolve(t, openStore(t, w.ReaderDSN))
}

// replaceAccounts replaces the wiki's accounts and site preferences.
func replaceAccounts(t *testing.T, db *sql.DB, users []wikidb.User, p wikidb.Prefs) {
	t.Helper()
	mustExec(t, db, "DELETE FROM users_usergroups")
	mustExec(t, db, "DELETE FROM users_users")
	for _, u := range users {
		mustExec(t, db, `INSERT INTO users_users (userId, login, email, hash, livechat_id, waiting, valid, pass_confirm, twoFactorSecret)
			VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, NULLIF(?, ''))`,
			u.ID, u.Login, u.Email, u.Hash, u.LivechatID, u.Waiting, u.Valid, u.PassConfirm, u.TwoFactorSecret)
	}
	yn := map[bool]string{true: "y", false: "n"}
	mustExec(t, db, "DELETE FROM tiki_preferences")
	mustExec(t, db, "INSERT INTO tiki_preferences (name, value) VALUES ('change_password', ?), ('pass_due', ?), ('twoFactorAuth', ?)",
		yn[p.ChangePassword], p.PassDueDays, yn[p.TwoFactorAuth])
}

// TestGroupMembersOnMariaDB runs provider's "who is in these groups" table
// against wikidb.Store on MariaDB: the same table provider's unit tests run
// against the in-memory Directory. Every question is one query.
func TestGroupMembersOnMariaDB(t *testing.T) {
	w := newWiki(t)
	replaceAccounts(t, w.Root, providertest.Accounts(t), providertest.Prefs)
	replaceGroups(t, w.Root, providertest.GroupFixture(time.Now()))
	store := openStore(t, w.ReaderDSN)
	providertest.RunGroupMembers(t, store)

	before := store.Queries()
	if _, err := store.GroupMembers(context.Background(), []string{"Room Monitors", "Support Team", "Senior Staff", "Registered", "Empty"}); err != nil {
		t.Fatal(err)
	}
	if n := store.Queries() - before; n != 1 {
		t.Errorf("five groups took %d queries, want 1", n)
	}
}

// replaceGroups replaces the wiki's groups, inclusions and memberships.
func replaceGroups(t *testing.T, db *sql.DB, g providertest.Groups) {
	t.Helper()
	for _, table := range []string{"users_usergroups", "users_groups", "tiki_group_inclusion"} {
		mustExec(t, db, "DELETE FROM "+table)
	}
	for _, n := range g.Names {
		mustExec(t, db, "INSERT INTO users_groups (groupName) VALUES (?)", n)
	}
	for _, inc := range g.Inclusions {
		mustExec(t, db, "INSERT INTO tiki_group_inclusion (groupName, includeGroup) VALUES (?, ?)", inc[0], inc[1])
	}
	for _, m := range g.Memberships {
		mustExec(t, db, "INSERT INTO users_usergroups (userId, groupName, expire) VALUES (?, ?, ?)", m.UserID, m.Group, m.Expire)
	}
}
