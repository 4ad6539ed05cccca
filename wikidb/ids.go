package wikidb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Equal is a group of names that the livechat_id column's collation holds
// equal: the wiki's unique key lets at most one of them be a livechat_id.
type Equal struct {
	Names    []int   // indexes into the names asked about, ascending
	Accounts []int64 // userIds whose livechat_id is in the group, ascending
}

// EqualIDs asks the database which of names, and which existing
// livechat_ids, its livechat_id column holds equal (on Tiki 24,
// utf8mb4_unicode_ci: blind to case, accents, width, trailing spaces and
// more). It returns only the groups of two or more members, in no
// particular order; a name in no group equals no other name and no
// livechat_id. The database decides, in one round trip whatever the
// number of names: a tool's query, whose size max_allowed_packet bounds
// (about 40 bytes a name). A name that is not valid UTF-8 is an error.
func (s *Store) EqualIDs(ctx context.Context, names []string) ([]Equal, error) {
	var q strings.Builder
	q.WriteString(queryEqualIDsHead)
	args := make([]any, len(names))
	for i, name := range names {
		if !utf8.ValidString(name) {
			return nil, errors.New("compare livechat_ids: a name is not valid UTF-8")
		}
		fmt.Fprintf(&q, queryEqualIDsName, i)
		args[i] = name
	}
	q.WriteString(queryEqualIDsTail)
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("compare livechat_ids: %w", err)
	}
	defer rows.Close()
	byRank := map[int64]*Equal{}
	var order []int64
	for rows.Next() {
		var i, userID, rank int64
		if err := rows.Scan(&i, &userID, &rank); err != nil {
			return nil, fmt.Errorf("compare livechat_ids: %w", err)
		}
		g := byRank[rank]
		if g == nil {
			g = &Equal{}
			byRank[rank] = g
			order = append(order, rank)
		}
		if i < 0 {
			g.Accounts = append(g.Accounts, userID)
		} else if i < int64(len(names)) {
			g.Names = append(g.Names, int(i))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compare livechat_ids: %w", err)
	}
	out := make([]Equal, 0, len(order))
	for _, rank := range order {
		g := byRank[rank]
		slices.Sort(g.Names)
		slices.Sort(g.Accounts)
		out = append(out, *g)
	}
	return out, nil
}
