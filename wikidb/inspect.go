package wikidb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// NeededColumns are the users_users columns livechat-auth reads.
var NeededColumns = []string{"userId", "login", "email", "hash", "livechat_id", "waiting", "valid", "pass_confirm", "twoFactorSecret"}

// Inspection is what the database says of itself to an operator's check
// (livechat-auth doctor): the grant of the user connected, the columns
// and keys the product needs, and a count of the accounts.
type Inspection struct {
	Grants            []string // SHOW GRANTS, as the server prints them
	Beyond            []string // privileges the grant holds besides SELECT (and USAGE, which is none), e.g. INSERT
	Missing           []string // needed users_users columns that do not exist
	LivechatIDUnique  bool     // livechat_id has a unique key
	Accounts          int      // rows of users_users
	WithoutLivechatID int      // of them, those with no livechat_id (0 when the column is missing)
	SampleLivechatID  string   // the livechat_id of the first migrated account, "" for none
}

// Inspect reads the Inspection, and hands each account's stored hash to
// hash (nil: none), so that the caller may count the formats.
func (s *Store) Inspect(ctx context.Context, hash func(string)) (Inspection, error) {
	var in Inspection
	rows, err := s.db.QueryContext(ctx, "SHOW GRANTS FOR CURRENT_USER()")
	if err != nil {
		return in, fmt.Errorf("read the grant: %w", err)
	}
	var roles []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return in, fmt.Errorf("read the grant: %w", err)
		}
		in.Grants = append(in.Grants, g)
		in.addPrivileges(g)
		if r, ok := roleOf(g); ok {
			roles = append(roles, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return in, fmt.Errorf("read the grant: %w", err)
	}
	// A role's privileges are the user's: follow each role granted, once.
	for _, role := range roles {
		rows, err := s.db.QueryContext(ctx, "SHOW GRANTS FOR "+quoteIdent(role))
		if err != nil {
			continue // a role this user may not inspect: its grant line is listed already
		}
		for rows.Next() {
			var g string
			if rows.Scan(&g) == nil {
				in.Grants = append(in.Grants, g)
				in.addPrivileges(g)
			}
		}
		rows.Close()
	}

	have := map[string]bool{}
	rows, err = s.db.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users'`)
	if err != nil {
		return in, fmt.Errorf("read the columns of users_users: %w", err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return in, fmt.Errorf("read the columns of users_users: %w", err)
		}
		have[strings.ToLower(c)] = true
	}
	rows.Close()
	for _, c := range NeededColumns {
		if !have[strings.ToLower(c)] {
			in.Missing = append(in.Missing, c)
		}
	}
	if len(have) == 0 {
		return in, nil // no users_users table: nothing more to read
	}
	var unique int
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND COLUMN_NAME = 'livechat_id' AND NON_UNIQUE = 0`).Scan(&unique)
	if err != nil {
		return in, fmt.Errorf("read the keys of users_users: %w", err)
	}
	in.LivechatIDUnique = unique > 0

	census := "SELECT COUNT(*), 0 FROM users_users"
	if have["livechat_id"] {
		census = "SELECT COUNT(*), COALESCE(SUM(livechat_id IS NULL), 0) FROM users_users"
	}
	if err := s.db.QueryRowContext(ctx, census).Scan(&in.Accounts, &in.WithoutLivechatID); err != nil {
		return in, fmt.Errorf("count the accounts: %w", err)
	}
	if have["livechat_id"] {
		err := s.db.QueryRowContext(ctx, "SELECT livechat_id FROM users_users WHERE livechat_id IS NOT NULL ORDER BY userId LIMIT 1").Scan(&in.SampleLivechatID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return in, fmt.Errorf("read a livechat_id: %w", err)
		}
	}
	if hash == nil || !have["hash"] {
		return in, nil
	}
	rows, err = s.db.QueryContext(ctx, "SELECT COALESCE(hash, '') FROM users_users")
	if err != nil {
		return in, fmt.Errorf("read the stored hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h sql.RawBytes
		if err := rows.Scan(&h); err != nil {
			return in, fmt.Errorf("read the stored hashes: %w", err)
		}
		hash(string(h))
	}
	return in, rows.Err()
}

// addPrivileges adds what a grant line gives beyond reading to in.Beyond.
func (in *Inspection) addPrivileges(grant string) {
	ps := privileges(grant)
	if strings.Contains(strings.ToUpper(grant), " WITH GRANT OPTION") {
		ps = append(ps, "GRANT OPTION")
	}
	for _, p := range ps {
		if p != "SELECT" && p != "USAGE" && !slices.Contains(in.Beyond, p) {
			in.Beyond = append(in.Beyond, p)
		}
	}
}

// roleOf returns the role a "GRANT `role` TO `user`@`host`" line grants.
func roleOf(grant string) (string, bool) {
	rest, ok := strings.CutPrefix(grant, "GRANT ")
	if !ok || strings.Contains(strings.ToUpper(rest), " ON ") {
		return "", false
	}
	role, _, ok := strings.Cut(rest, " TO ")
	role = strings.Trim(strings.TrimSpace(role), "`'\"")
	return role, ok && role != ""
}

// quoteIdent quotes a name for MariaDB.
func quoteIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// privileges returns the privileges a GRANT line gives ("GRANT SELECT,
// INSERT ON `tiki`.* TO …"), upper-cased; ALL PRIVILEGES counts as ALL.
func privileges(grant string) []string {
	rest, ok := strings.CutPrefix(strings.ToUpper(grant), "GRANT ")
	if !ok {
		return nil
	}
	list, _, ok := strings.Cut(rest, " ON ")
	if !ok {
		return nil // a role grant: GRANT role TO user
	}
	// Drop column lists: SELECT (a, b), UPDATE (c).
	var plain strings.Builder
	depth := 0
	for _, r := range list {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case depth == 0:
			plain.WriteRune(r)
		}
	}
	var out []string
	for _, p := range strings.Split(plain.String(), ",") {
		p = strings.TrimSpace(p)
		if p == "ALL PRIVILEGES" {
			p = "ALL"
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
