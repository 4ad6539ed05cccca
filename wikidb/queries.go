package wikidb

import "strings"

// The SQL the Store runs. Column names appear here and in the scanners
// beside the code that runs each query, nowhere else.

// queryUserByLivechatID finds the account signing in as ?. It matches the
// livechat_id, and also an unmigrated account (livechat_id NULL) whose login
// is the name asked for, so that the caller can tell "unmigrated" from
// "unknown" with the same round trip. A migrated match sorts first.
// Comparisons follow the column's collation (case- and accent-insensitive
// on Tiki 24), so callers compare the returned livechat_id exactly.
const queryUserByLivechatID = `
SELECT ` + userColumns + `
FROM users_users
WHERE livechat_id = ? OR (livechat_id IS NULL AND login = ?)
ORDER BY livechat_id IS NULL
LIMIT 1`

// queryUsersByLivechatIDs is queryUserByLivechatID for n names in one
// round trip: the derived table q holds each name with its position, and
// each is compared to the rows as the single query does, under the
// column's collation (a name given as a parameter takes the column's
// collation, through q too). A name's rows come together, its migrated
// match first, so that the first row of each position is the one the
// single query returns.
func queryUsersByLivechatIDs(n int) string {
	var b strings.Builder
	b.WriteString("SELECT q.i, " + userColumns + "\nFROM (")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ? AS i, ? AS name")
	}
	b.WriteString(`) q
JOIN users_users ON livechat_id = q.name OR (livechat_id IS NULL AND login = q.name)
ORDER BY q.i, livechat_id IS NULL`)
	return b.String()
}

// userColumns are the users_users columns a User holds, in scan order.
const userColumns = `userId, login, COALESCE(email, ''), COALESCE(hash, ''), livechat_id,
       COALESCE(waiting, ''), COALESCE(valid, ''), COALESCE(pass_confirm, 0),
       COALESCE(twoFactorSecret, '')`

// memberColumns are userColumns from users_users as u, for a row that
// may have no account (userId 0) and without the hash, which no list of
// members needs.
const memberColumns = `COALESCE(u.userId, 0), COALESCE(u.login, ''), COALESCE(u.email, ''), '', u.livechat_id,
       COALESCE(u.waiting, ''), COALESCE(u.valid, ''), COALESCE(u.pass_confirm, 0),
       COALESCE(u.twoFactorSecret, '')`

// queryUserByLogin finds the account with this login (the wiki's own
// sign-in name), for the session API.
const queryUserByLogin = `SELECT ` + userColumns + ` FROM users_users WHERE login = ? LIMIT 1`

// queryUserByID finds the account with this userId, for the session API.
const queryUserByID = `SELECT ` + userColumns + ` FROM users_users WHERE userId = ?`

// queryRealName reads the display name a user set in the wiki.
const queryRealName = `
SELECT COALESCE(value, '') FROM tiki_user_preferences
WHERE user = ? AND prefName = 'realName'`

// queryAccounts lists every account's name and chat name, for the
// migration tools.
const queryAccounts = `SELECT userId, login, livechat_id FROM users_users ORDER BY userId`

// The query of EqualIDs is queryEqualIDsHead, then queryEqualIDsName once
// per name (its index, then the name as a parameter), then
// queryEqualIDsTail. The names are string literals beside the livechat_id
// column in one UNION, so the column's own collation compares them all,
// as its unique key does; the window functions group the rows the
// collation holds equal and keep the groups of two or more.
const (
	queryEqualIDsHead = `
SELECT i, u, DENSE_RANK() OVER (ORDER BY n) FROM (
  SELECT i, u, n, COUNT(*) OVER (PARTITION BY n) AS c FROM (
    SELECT -1 AS i, userId AS u, livechat_id AS n FROM users_users WHERE livechat_id IS NOT NULL`
	queryEqualIDsName = `
    UNION ALL SELECT %d, 0, ?`
	queryEqualIDsTail = `
  ) AS a
) AS b WHERE c > 1`
)

// The query of GroupMembers is queryGroupMembersHead, then
// queryGroupMembersName once per group asked (joined by UNION ALL: its
// index, then the name as a parameter), then queryGroupMembersTail with
// the current Unix time as its parameter. It reads every membership in
// one pass, which matters because Tiki indexes users_usergroups by
// account, not by group: a query per group scans the table once per group
// (12 s for 200 groups of a 100,000-account wiki; this query: under 1.5 s).
//
//   - asked: the names, as string literals, so that the users_groups
//     column's own collation compares them (as Tiki's unique key does);
//     a name that matches no group gives no row at all, which the caller
//     reads as "no such group".
//   - included: each group found, and every group that includes it,
//     transitively (UNION, under the column's collation, stops on
//     inclusion cycles), by name, as Tiki and queryGroups follow them: an
//     inclusion through a group users_groups lacks still counts.
//   - known, ghost: the groups included that users_groups has (by id)
//     and those it lacks (by name; normally none).
//   - members: the unexpired memberships of the groups included. The
//     first STRAIGHT_JOIN reads users_usergroups once and finds each
//     row's group by the users_groups name index; the second scans it
//     once per ghost group; every account is in "Registered".
//     UNION ALL, not UNION: an account reached two ways comes twice, and
//     the caller drops the second (a third of the query's time).
//
// The result is one row per (index asked, member, way), and one row with
// userId 0 for each group found.
const (
	queryGroupMembersHead = `
WITH RECURSIVE asked(i, n) AS (`
	queryGroupMembersName = `
  SELECT %d, ?`
	queryGroupMembersTail = `
),
found(i, id, groupName) AS (
  SELECT a.i, g.id, g.groupName FROM asked a JOIN users_groups g ON g.groupName = a.n
),
included(i, n) AS (
  SELECT i, groupName FROM found
  UNION
  SELECT s.i, inc.groupName FROM included s
  JOIN tiki_group_inclusion inc ON inc.includeGroup = s.n
),
known(i, id) AS (
  SELECT DISTINCT s.i, g.id FROM included s JOIN users_groups g ON g.groupName = s.n
),
ghost(i, n) AS (
  SELECT s.i, s.n FROM included s WHERE NOT EXISTS (SELECT 1 FROM users_groups g WHERE g.groupName = s.n)
),
members(i, userId) AS (
  SELECT STRAIGHT_JOIN s.i, ug.userId FROM users_usergroups ug
  JOIN users_groups g ON g.groupName = ug.groupName
  JOIN known s ON s.id = g.id
  WHERE ug.expire IS NULL OR ug.expire = 0 OR ug.expire > ?
  UNION ALL
  SELECT STRAIGHT_JOIN s.i, ug.userId FROM ghost s
  JOIN users_usergroups ug ON ug.groupName = s.n
  WHERE ug.expire IS NULL OR ug.expire = 0 OR ug.expire > ?
  UNION ALL
  SELECT f.i, u.userId FROM found f JOIN users_users u WHERE f.groupName = 'Registered'
)
SELECT STRAIGHT_JOIN m.i, ` + memberColumns + ` FROM members m JOIN users_users u ON u.userId = m.userId
UNION ALL
SELECT i, 0, '', '', '', NULL, '', '', 0, '' FROM found`
)

// queryPrefs reads the site preferences the account rules depend on.
const queryPrefs = `
SELECT name, value FROM tiki_preferences
WHERE name IN ('change_password', 'pass_due', 'twoFactorAuth')`

// queryGroups computes a user's effective groups: direct memberships that
// have not expired, plus every group they include, transitively. UNION (not
// UNION ALL) makes the recursion stop on the inclusion cycles found in real
// databases. The first argument is the userId, the second the current Unix
// time.
const queryGroups = `
WITH RECURSIVE effective(groupName) AS (
  SELECT groupName FROM users_usergroups
  WHERE userId = ? AND (expire IS NULL OR expire = 0 OR expire > ?)
  UNION
  SELECT i.includeGroup FROM tiki_group_inclusion i
  JOIN effective e ON i.groupName = e.groupName
)
SELECT groupName FROM effective`

// queryPing is the cheapest statement that proves the database answers and
// the user may read the accounts table.
const queryPing = `SELECT 1 FROM users_users LIMIT 1`

// The queries of Inspect, for livechat-auth doctor and the status page.
const (
	// queryGrants reads the grant of the user connected.
	queryGrants = `SHOW GRANTS FOR CURRENT_USER()`
	// queryGrantsFor reads a role's grant: the role, quoted with
	// quoteIdent, follows (SHOW GRANTS takes no parameter).
	queryGrantsFor = `SHOW GRANTS FOR `
	// queryColumns lists the columns of users_users.
	queryColumns = `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users'`
	// queryLivechatIDUnique counts the unique keys that hold livechat_id.
	queryLivechatIDUnique = `SELECT COUNT(*) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND COLUMN_NAME = 'livechat_id' AND NON_UNIQUE = 0`
	// queryCensus counts the accounts, and those with no livechat_id.
	queryCensus = `SELECT COUNT(*), COALESCE(SUM(livechat_id IS NULL), 0) FROM users_users`
	// queryCensusNoLivechatID is queryCensus for a users_users with no
	// livechat_id column; the second count is then 0.
	queryCensusNoLivechatID = `SELECT COUNT(*), 0 FROM users_users`
	// querySampleLivechatID reads the livechat_id of the first migrated
	// account.
	querySampleLivechatID = `SELECT livechat_id FROM users_users WHERE livechat_id IS NOT NULL ORDER BY userId LIMIT 1`
	// queryHashes reads every account's stored hash.
	queryHashes = `SELECT COALESCE(hash, '') FROM users_users`
)
