package test

import (
	"database/sql"
	"testing"

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
