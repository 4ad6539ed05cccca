package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/wikidb"

	"github.com/go-sql-driver/mysql"
)

// checkDatabase checks that the wiki answers, the grant, the schema and
// the accounts of database db, and returns a migrated account's
// livechat_id to ask about ("" for none) and whether the database let
// this user in.
func (d *report) checkDatabase(ctx context.Context, store *wikidb.Store, db string) (sample string, answered bool) {
	if err := store.Ping(ctx); err != nil {
		d.say(verdictFail, "wiki database does not answer: "+config.OneLine(err), "check wiki.dsn (host, port, user, password, database) and that this host may connect")
		return "", false
	}
	formats := map[provider.HashFormat]int{}
	in, err := store.Inspect(ctx, func(h string) { formats[provider.FormatOf(h)]++ })
	if err != nil {
		d.say(verdictFail, "wiki database: "+config.OneLine(err), "grant the user SELECT on the wiki's database: GRANT SELECT ON "+db+".* TO the reader")
		return "", true
	}
	d.say(verdictOK, "wiki database answers", "")
	d.checkSchema(in, db)
	if len(in.Missing) > 0 {
		return "", true
	}
	d.checkTables(ctx, store, db)
	d.checkAccounts(in, formats)
	return in.SampleLivechatID, true
}

// dbName is the database wiki.dsn names, for the hints ("tiki" when it
// names none).
func dbName(w config.Wiki) string {
	if c, err := mysql.ParseDSN(string(w.DSN)); err == nil && c.DBName != "" {
		return c.DBName
	}
	return "tiki"
}

// checkSchema judges the grant, the columns livechat-auth reads and the
// livechat_id unique key.
func (d *report) checkSchema(in wikidb.Inspection, db string) {
	if len(in.Beyond) > 0 {
		d.say(verdictWarn, "the database grant allows more than reading: "+strings.Join(in.Beyond, ", "),
			"livechat-auth only reads: give it a user with GRANT SELECT ON "+db+".* only")
	} else {
		d.say(verdictOK, "the database grant is read-only (SELECT)", "")
	}
	for _, c := range in.Missing {
		todo := "this Tiki lacks a column livechat-auth reads"
		switch c {
		case "livechat_id":
			todo = "add it: mysql " + db + " < wikidb/schema/livechat_id.sql (as the wiki's own database user)"
		case "twoFactorSecret":
			todo = "Tiki 18 and later have it; upgrade the wiki, or add the column: ALTER TABLE users_users ADD twoFactorSecret VARCHAR(16) NULL"
		}
		d.say(verdictFail, "users_users has no column "+c+": every sign-in fails", todo)
	}
	if !slices.Contains(in.Missing, "livechat_id") && !in.LivechatIDUnique {
		d.say(verdictWarn, "users_users.livechat_id has no unique key: two accounts could claim one chat ID",
			"add it: ALTER TABLE users_users ADD UNIQUE KEY livechat_id (livechat_id) (wikidb/schema/livechat_id.sql)")
	}
}

// checkTables reads what every sign-in and session reads besides
// users_users: a grant on that table alone fails every password sign-in.
func (d *report) checkTables(ctx context.Context, store *wikidb.Store, db string) {
	grant := "grant SELECT on the whole wiki database: GRANT SELECT ON " + db + ".* TO the reader"
	if _, err := store.Prefs(ctx); err != nil {
		d.say(verdictFail, "cannot read the site preferences (tiki_preferences): "+config.OneLine(err)+": every sign-in fails", grant)
	}
	if _, err := store.Groups(ctx, 1); err != nil {
		d.say(verdictFail, "cannot read the wiki's groups (users_usergroups, tiki_group_inclusion): "+config.OneLine(err)+": the session API and room sync fail", grant)
	}
}

// checkAccounts counts the accounts by stored hash format and says which
// can never sign in or cannot chat yet.
func (d *report) checkAccounts(in wikidb.Inspection, formats map[provider.HashFormat]int) {
	d.say(verdictOK, fmt.Sprintf("%s; %d bcrypt, %d md5-crypt, %d legacy md5", accounts(in.Accounts),
		formats[provider.FormatBcrypt], formats[provider.FormatMD5Crypt], formats[provider.FormatMD5Hex]), "")
	if n := formats[provider.FormatDES]; n > 0 {
		d.say(verdictWarn, accounts(n)+" with a crypt-DES hash can never sign in (Tiki 17+ cannot verify them either)",
			"their users must reset their password in the wiki")
	}
	if n := formats[provider.FormatUnknown]; n > 0 {
		d.say(verdictWarn, accounts(n)+" with a stored hash of no known format can never sign in", "their users must reset their password in the wiki")
	}
	if n := formats[provider.FormatEmpty]; n > 0 {
		d.say(verdictOK, accounts(n)+" with no local password (OpenID or external sign-in): tokens only", "")
	}
	if in.WithoutLivechatID > 0 {
		d.say(verdictWarn, fmt.Sprintf("%s of %d without a livechat_id cannot chat until migrated", accounts(in.WithoutLivechatID), in.Accounts),
			"see docs/migration.md (livechat-auth ids plan)")
	}
}

// accounts is "1 account" or "n accounts".
func accounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return strconv.Itoa(n) + " accounts"
}
