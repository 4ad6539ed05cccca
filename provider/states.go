package provider

import (
	"context"
	"time"

	"livechat-auth/wikidb"
)

// checkState applies the wiki's account-state rules and the chat rules to
// an account whose password has been verified. It returns nil or the
// Reason for refusal. now is the current time.
func checkState(u wikidb.User, p wikidb.Prefs, now time.Time) error {
	if err := accountRules(u, p, now); err != nil {
		return err
	}
	if p.TwoFactorAuth && u.TwoFactorSecret != "" {
		return ReasonTwoFactorRequired
	}
	return nil
}

// accountRules applies the account-state rules that hold whatever the
// credential: unmigrated, unvalidated, suspended, unfinished registration,
// must-change-password. It leaves out the password itself and the 2FA
// rule, which a token sign-in satisfies (the wiki asked for the one-time
// code when the user logged in there). It returns nil or a Reason.
func accountRules(u wikidb.User, p wikidb.Prefs, now time.Time) error {
	switch {
	case u.LivechatID == nil:
		return ReasonUnmigrated
	case u.Waiting == "u":
		return ReasonUnvalidated
	case u.Waiting == "a":
		return ReasonSuspended
	case u.Valid != "":
		return ReasonUnfinished
	case mustChangePassword(u, p, now):
		return ReasonMustChangePassword
	}
	return nil
}

// mustChangePassword is Tiki's rule: with change_password on, a password
// that was never confirmed (pass_confirm 0 or NULL) must be changed, and so
// must one confirmed more than pass_due days ago when pass_due is >= 0.
func mustChangePassword(u wikidb.User, p wikidb.Prefs, now time.Time) bool {
	if !p.ChangePassword {
		return false
	}
	if u.PassConfirm <= 0 {
		return true
	}
	if p.PassDueDays < 0 {
		return false
	}
	due := time.Unix(u.PassConfirm, 0).Add(time.Duration(p.PassDueDays) * 24 * time.Hour)
	return now.After(due)
}

// RoomMember returns the localpart under which an account takes part in
// chat rooms, and false when it may not: no valid livechat_id, e-mail not
// validated, suspended, or an unfinished registration. (A password due
// for change does not take anyone out of a room.)
func RoomMember(u wikidb.User) (string, bool) {
	if u.LivechatID == nil || u.Waiting == "u" || u.Waiting == "a" || u.Valid != "" {
		return "", false
	}
	id, err := NormalizeLocalpart(*u.LivechatID)
	return id, err == nil
}

// GroupLister lists the accounts of wiki groups, all in one read, keyed by
// the name asked; *wikidb.Store implements it, and so does
// providertest.Directory.
type GroupLister interface {
	GroupMembers(ctx context.Context, groups []string) (map[string][]wikidb.User, error)
}

// RoomMembers lists, for room sync, the localparts of groups' members who
// may take part in rooms (see RoomMember).
type RoomMembers struct{ Groups GroupLister }

// GroupMembers returns, for each of groups, the localparts of the members
// who may take part, in one read of the wiki.
func (m RoomMembers) GroupMembers(ctx context.Context, groups []string) (map[string][]string, error) {
	byGroup, err := m.Groups.GroupMembers(ctx, groups)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(byGroup))
	decided := map[int64]string{} // an account in several groups is decided once; "": may not
	for g, users := range byGroup {
		ids := make([]string, 0, len(users))
		for _, u := range users {
			id, ok := decided[u.ID]
			if !ok {
				id, _ = RoomMember(u)
				decided[u.ID] = id
			}
			if id != "" {
				ids = append(ids, id)
			}
		}
		out[g] = ids
	}
	return out, nil
}
