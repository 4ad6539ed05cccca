package wikidb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
	args = append(args, s.now().Unix())

	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	found := make([]bool, len(groups))
	for rows.Next() {
		var i int
		u, err := scanUser(rows, &i)
		if err != nil {
			return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
		}
		if i < 0 || i >= len(groups) {
			return nil, fmt.Errorf("list group members: %w: row for group %d of %d", ErrUnavailable, i, len(groups))
		}
		found[i] = true
		if u.ID == 0 { // a group with no members
			out[groups[i]] = append(out[groups[i]], []User{}...)
			continue
		}
		out[groups[i]] = append(out[groups[i]], u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list group members: %w: %w", ErrUnavailable, err)
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("group %q: %w", groups[i], ErrNoSuchGroup)
		}
	}
	for _, users := range out {
		slices.SortFunc(users, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}
