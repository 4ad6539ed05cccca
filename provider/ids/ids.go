// Package ids proposes and checks livechat_ids, the chat names of wiki
// accounts, for a migration: it suggests an id for a login, reports the
// migration state of a wiki and a chat server, and plans assignments as
// reviewable SQL. It computes only; the operator applies.
//
// # Deriving an id from a login
//
// Latin letters lose their accents and are case-folded (José → jose,
// Straße → strasse; a letter with no unaccented form, such as ø, stays);
// letters and digits of other scripts are kept, case-folded (Дмитрий →
// дмитрий); everything else (spaces, punctuation, symbols) is removed. An
// empty result becomes "user". The id is cut to 64 bytes, must be a valid
// XMPP localpart, and gets a numeric suffix (2, 3, …) when it is taken.
//
// # Taken, under the wiki's collation
//
// An id is taken when the wiki's unique key on livechat_id would refuse it
// beside an existing livechat_id, a chat server account or another id of
// the same plan. That key compares under the column's collation (Tiki 24:
// utf8mb4_unicode_ci, blind to case, accents, width, trailing spaces and
// more), so the database decides: every id is checked with a Checker
// (*wikidb.Store), and a clash moves it to its next suffix. Key, a Go fold
// of the same kind, only picks the first candidates, so that the database
// seldom finds a clash.
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

// Taken is a set of names in use, compared by Key.
type Taken map[string]bool

// Key folds a name the way utf8mb4_unicode_ci at least does: compatibility
// decomposition (width: ＡＢＣ → abc), marks dropped (é → e), full case
// folding (ß → ss), digits of every script as ASCII digits, hiragana as
// katakana, every character outside the Basic Multilingual Plane as one,
// trailing spaces dropped. Names the collation holds equal mostly get one
// key; Key is not exact, which is why the database has the last word.
func Key(name string) string {
	s := dropMarks(norm.NFKD.String(name))
	s = dropMarks(norm.NFKD.String(cases.Fold().String(s)))
	return strings.TrimRight(s, " ")
}

// dropMarks drops combining marks and maps the characters the collation
// folds and Unicode does not.
func dropMarks(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me):
			continue
		case r > 0xFFFF: // one weight for all of them in utf8mb4_unicode_ci
			r = unicode.ReplacementChar
		case r >= 0x3041 && r <= 0x3096: // hiragana ぁ…ゖ → katakana ァ…ヶ
			r += 0x60
		case r > unicode.MaxASCII && unicode.IsDigit(r):
			r = '0' + digitValue(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// digitValue is the value of a decimal digit: Unicode encodes each
// script's digits as a run of ten from zero, and unicode.Nd lists runs
// from their zero.
func digitValue(r rune) rune {
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return (r - rune(rg.Lo)) % 10
		}
	}
	return 0
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
