package wikidb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNoSuchGroup is returned by GroupMembers for a group the wiki does not
// have: a typo or a renamed group must not read as a group with no members.
var ErrNoSuchGroup = errors.New("no such wiki group")

// GroupMembers returns the accounts in each of groups, keyed by the name
// as asked: members of a group count those of every group that includes
// it (transitively), expired memberships are dropped, and every account
// is in "Registered". Names are matched under the users_groups column's
// collation, so "room monitors" finds "Room Monitors" on Tiki 24. The
// accounts come without their hash.
//
// All groups are read in one query, one pass over users_usergroups: a
// tool's query, bounded by the query timeout. A group the wiki does not
// have is ErrNoSuchGroup, naming the first one in sort order. Each list is
// in userId order.
func (s *Store) GroupMembers(ctx context.Context, groups []string) (map[string][]User, error) {
	out := make(map[string][]User, len(groups))
	groups = slices.Compact(slices.Sorted(slices.Values(groups)))
	if len(groups) == 0 {
		return out, nil
	}
	var q strings.Builder
	q.WriteString(queryGroupMembersHead)
	args := make([]any, 0, len(groups)+1)
	for i, g := range groups {
		if !utf8.ValidString(g) {
			return nil, fmt.Errorf("group %q: %w (not valid UTF-8)", g, ErrNoSuchGroup)
		}
		if i > 0 {
			q.WriteString("\n  UNION ALL")
		}
		fmt.Fprintf(&q, queryGroupMembersName, i)
		args = append(args, g)
	}
	q.WriteString(queryGroupMembersTail)
	now := s.now().Unix() // one instant for both expiry tests
	args = append(args, now, now)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	found := make([]bool, len(groups))
	// An account is in about three groups: it is read once, and its later
	// rows, scanned as raw bytes, share the first one's User.
	seen := map[int64]User{}
	var i, id int64
	var raw [8]sql.RawBytes
	dest := []any{&i, &id}
	for k := range raw {
		dest = append(dest, &raw[k])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
		}
		if i < 0 || i >= int64(len(groups)) {
			return nil, fmt.Errorf("list group members: %w: row for group %d of %d", ErrUnavailable, i, len(groups))
		}
		g := groups[i]
		found[i] = true
		if id == 0 { // the group's own row: it exists
			out[g] = append(out[g], []User{}...)
			continue
		}
		u, ok := seen[id]
		if !ok {
			var err error
			if u, err = memberOf(id, raw); err != nil {
				return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
			}
			seen[id] = u
		}
		out[g] = append(out[g], u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("group %q: %w", groups[i], ErrNoSuchGroup)
		}
	}
	for g, users := range out {
		slices.SortFunc(users, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
		out[g] = slices.CompactFunc(users, func(a, b User) bool { return a.ID == b.ID })
	}
	return out, nil
}

// memberOf makes the User of account id from the raw memberColumns after
// the userId.
func memberOf(id int64, raw [8]sql.RawBytes) (User, error) {
	u := User{ID: id, Login: string(raw[0]), Email: string(raw[1]), Hash: string(raw[2]),
		Waiting: string(raw[4]), Valid: string(raw[5]), TwoFactorSecret: string(raw[7])}
	if raw[3] != nil {
		l := string(raw[3])
		u.LivechatID = &l
	}
	var err error
	if u.PassConfirm, err = strconv.ParseInt(string(raw[6]), 10, 64); err != nil {
		return User{}, fmt.Errorf("account %d: pass_confirm %q: %w", id, raw[6], err)
	}
	return u, nil
}
