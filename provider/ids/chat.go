package ids

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"

	"livechat-auth/provider"
)

// ChatNames is the chat server's account names, each once.
type ChatNames struct {
	// Valid holds the names that are XMPP localparts, normalised, in the
	// order first seen.
	Valid []string
	// Invalid holds the names that cannot be a localpart (a space, one of
	// " & ' / : < >, too long, not UTF-8), as given.
	Invalid []string
}

// NewChatNames reads account names as a chat server lists them, one per
// entry: "name" or "name@domain" (ejabberd's registered_users prints the
// first, other tools the second). Entries naming one account (alice,
// Alice, alice@chat.example.org) count once.
func NewChatNames(entries []string) ChatNames {
	c := ChatNames{Valid: []string{}, Invalid: []string{}}
	seen := map[string]bool{}
	for _, e := range entries {
		name, _, _ := strings.Cut(e, "@")
		if n, err := provider.NormalizeLocalpart(name); err == nil && utf8.ValidString(name) {
			if k := sameAccount(n); !seen[k] {
				seen[k] = true
				c.Valid = append(c.Valid, n)
			}
			continue
		}
		if k := "\x00" + name; !seen[k] {
			seen[k] = true
			c.Invalid = append(c.Invalid, name)
		}
	}
	return c
}

// Reserved is the names no livechat_id may equal: the valid ones, and,
// to be safe, the invalid ones the database can compare.
func (c ChatNames) Reserved() []string {
	out := append([]string{}, c.Valid...)
	for _, name := range c.Invalid {
		if utf8.ValidString(name) {
			out = append(out, name)
		}
	}
	return out
}

// sameAccount is the key under which two normalised localparts may be one
// chat account: full case folding, as ejabberd's nodeprep applies. Both
// sides are folded, so a new id errs towards colliding with an existing
// chat account, never towards sharing one.
func sameAccount(localpart string) string { return cases.Fold().String(localpart) }
