// Package ids proposes and checks livechat_ids, the chat names of wiki
// accounts, for a migration: it suggests an id for a login, reports the
// migration state of a wiki and a chat server, and plans assignments as
// reviewable SQL. It computes only; the operator applies.
//
// # Deriving an id from a login
//
// Latin letters lose their accents and are case-folded (José → jose,
// Straße → strasse; a letter with no unaccented form, such as ø, stays); letters and digits of other scripts are kept,
// case-folded (Дмитрий → дмитрий); everything else (spaces, punctuation,
// symbols) is removed. An empty result becomes "user". The id is cut to
// 64 bytes, must be a valid XMPP localpart, and gets a numeric suffix (2,
// 3, …) when it is taken, among the wiki's livechat_ids and the chat
// server's accounts, compared case-folded.
package ids

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"livechat-auth/provider"
)

// maxBase bounds the derived part of an id, in bytes.
const maxBase = 64

// Base derives the id a login would get before uniqueness.
func Base(login string) string {
	var b strings.Builder
	for _, r := range norm.NFC.String(login) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case unicode.Is(unicode.Latin, r):
			// é → e; a letter with no ASCII base (ø, ł, ß) stays, folded below.
			kept := false
			for _, d := range norm.NFKD.String(string(r)) {
				if d < unicode.MaxASCII && (unicode.IsLetter(d) || unicode.IsDigit(d)) {
					b.WriteRune(d)
					kept = true
				}
			}
			if !kept {
				b.WriteRune(r)
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	base := cases.Fold().String(b.String())
	for len(base) > maxBase {
		_, size := lastRune(base)
		base = base[:len(base)-size]
	}
	if n, err := provider.NormalizeLocalpart(base); err == nil && n != "" {
		return n
	}
	return "user"
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return []rune(s[i:])[0], len(s) - i
		}
	}
	return 0, 0
}

// Taken is a set of names in use, compared case-folded.
type Taken map[string]bool

// Key is how names are compared.
func Key(name string) string {
	if n, err := provider.NormalizeLocalpart(name); err == nil {
		return cases.Fold().String(n)
	}
	return cases.Fold().String(name)
}

// Add marks a name taken.
func (t Taken) Add(name string) { t[Key(name)] = true }

// Has reports whether a name is taken.
func (t Taken) Has(name string) bool { return t[Key(name)] }

// Suggest returns the id for login that is not taken: Base(login), or it
// with the smallest numeric suffix from 2 on that is free.
func Suggest(login string, taken Taken) string {
	base := Base(login)
	if !taken.Has(base) {
		return base
	}
	for n := 2; ; n++ {
		candidate := base + strconv.Itoa(n)
		if !taken.Has(candidate) {
			return candidate
		}
	}
}
