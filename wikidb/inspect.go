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
// hash (nil: none), so that the caller may count the formats. On an
// error it returns what it had read so far.
func (s *Store) Inspect(ctx context.Context, hash func(string)) (Inspection, error) {
	var in Inspection
	if err := s.readGrants(ctx, &in); err != nil {
		return in, err
	}
	have, err := s.readColumns(ctx)
	if err != nil {
		return in, err
	}
	for _, c := range NeededColumns {
		if !have[strings.ToLower(c)] {
			in.Missing = append(in.Missing, c)
		}
	}
	if len(have) == 0 {
		return in, nil // no users_users table: nothing more to read
	}
	if err := s.readCensus(ctx, &in, have["livechat_id"]); err != nil {
		return in, err
	}
	if hash == nil || !have["hash"] {
		return in, nil
	}
	return in, s.readHashes(ctx, hash)
}

// readGrants adds the grant of the user connected to in.Grants and what
// it gives beyond reading to in.Beyond, following each role it grants.
func (s *Store) readGrants(ctx context.Context, in *Inspection) error {
	rows, err := s.db.QueryContext(ctx, queryGrants)
	if err != nil {
		return fmt.Errorf("read the grant: %w", err)
	}
	var roles []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return fmt.Errorf("read the grant: %w", err)
		}
		in.Grants = append(in.Grants, g)
		in.addPrivileges(g)
		if r, ok := roleOf(g); ok {
			roles = append(roles, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the grant: %w", err)
	}
	s.readRoleGrants(ctx, in, roles)
	return nil
}

// readRoleGrants adds each role's grant, as readGrants does the user's:
// a role's privileges are the user's. A role whose grant cannot be read
// is skipped; its grant line is listed already.
func (s *Store) readRoleGrants(ctx context.Context, in *Inspection, roles []string) {
	for _, role := range roles {
		rows, err := s.db.QueryContext(ctx, queryGrantsFor+quoteIdent(role))
		if err != nil {
			continue // a role this user may not inspect
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
}

// readColumns returns the columns of users_users, lower-cased; none when
// the table does not exist.
func (s *Store) readColumns(ctx context.Context) (map[string]bool, error) {
	have := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, queryColumns)
	if err != nil {
		return have, fmt.Errorf("read the columns of users_users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return have, fmt.Errorf("read the columns of users_users: %w", err)
		}
		have[strings.ToLower(c)] = true
	}
	if err := rows.Err(); err != nil {
		// Cut off part way: what was read would report columns missing.
		return have, fmt.Errorf("read the columns of users_users: %w", err)
	}
	return have, nil
}

// readCensus fills in whether livechat_id has a unique key, the count of
// accounts and, when the table has the livechat_id column, the count
// without one and a sample.
func (s *Store) readCensus(ctx context.Context, in *Inspection, livechatID bool) error {
	var unique int
	if err := s.db.QueryRowContext(ctx, queryLivechatIDUnique).Scan(&unique); err != nil {
		return fmt.Errorf("read the keys of users_users: %w", err)
	}
	in.LivechatIDUnique = unique > 0
	census := queryCensusNoLivechatID
	if livechatID {
		census = queryCensus
	}
	if err := s.db.QueryRowContext(ctx, census).Scan(&in.Accounts, &in.WithoutLivechatID); err != nil {
		return fmt.Errorf("count the accounts: %w", err)
	}
	if !livechatID {
		return nil
	}
	err := s.db.QueryRowContext(ctx, querySampleLivechatID).Scan(&in.SampleLivechatID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read a livechat_id: %w", err)
	}
	return nil
}

// readHashes hands each account's stored hash to hash.
func (s *Store) readHashes(ctx context.Context, hash func(string)) error {
	rows, err := s.db.QueryContext(ctx, queryHashes)
	if err != nil {
		return fmt.Errorf("read the stored hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h sql.RawBytes
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("read the stored hashes: %w", err)
		}
		hash(string(h))
	}
	return rows.Err()
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
