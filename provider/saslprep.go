package provider

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// SASLprep returns password as a chat server that prepares passwords with
// SASLprep (RFC 4013; Prosody does, before its auth module sees them)
// hands it on: the characters commonly mapped to nothing (soft hyphen,
// zero-width joiners, variation selectors) dropped, non-ASCII spaces made
// U+0020, then NFKC (full-width letters become ASCII). ok is false when
// the result holds a character the profile prohibits (controls, private
// use, surrogates, non-characters): such a server refuses the password
// outright. The bidirectional rule is not applied. It is for telling what
// a password will become, never for checking one.
func SASLprep(password string) (prepared string, ok bool) {
	prepared = norm.NFKC.String(saslMap(password))
	for _, r := range prepared {
		if prohibited(r) {
			return prepared, false
		}
	}
	return prepared, true
}

// saslMap is SASLprep's mapping step alone: non-ASCII spaces to U+0020
// (first, as libidn does: U+200B is in both tables and becomes a space),
// then table B.1 to nothing.
func saslMap(password string) string {
	var b strings.Builder
	for _, r := range password {
		switch {
		case nonASCIISpace(r):
			b.WriteByte(' ')
		case mappedToNothing(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mappedToNothing is RFC 3454's table B.1.
func mappedToNothing(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x1806, r >= 0x180B && r <= 0x180D,
		r >= 0x200B && r <= 0x200D, r == 0x2060, r >= 0xFE00 && r <= 0xFE0F, r == 0xFEFF:
		return true
	}
	return false
}

// nonASCIISpace is RFC 3454's table C.1.2.
func nonASCIISpace(r rune) bool {
	switch {
	case r == 0x00A0, r == 0x1680, r >= 0x2000 && r <= 0x200B, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// prohibited is the part of RFC 4013's prohibited output that matters
// here: controls (C.2), private use (C.3), non-characters (C.4),
// surrogates (C.5), and the characters of C.6 to C.9.
func prohibited(r rune) bool {
	switch {
	case r < 0x20, r == 0x7F, r >= 0x80 && r <= 0x9F,
		r == 0x06DD, r == 0x070F, r == 0x180E, r >= 0x200E && r <= 0x200F, r >= 0x2028 && r <= 0x2029,
		r >= 0x202A && r <= 0x202E, r >= 0x2061 && r <= 0x2063, r >= 0x206A && r <= 0x206F,
		r >= 0x2FF0 && r <= 0x2FFB, r >= 0xFFF9 && r <= 0xFFFD, r >= 0x1D173 && r <= 0x1D17A,
		r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000, r >= 0xD800 && r <= 0xDFFF,
		r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE, r == 0xE0001, r >= 0xE0020 && r <= 0xE007F:
		return true
	}
	return false
}

// passwordForms are the forms a password given to a chat server may reach
// livechat-auth in: as typed (ejabberd) and SASLprep'd (Prosody).
//
// Besides the prepared form it gives the mapped form without NFKC:
// Prosody's stringprep normalises with Unicode 3.2's tables and leaves
// characters newer than that as they are, where Go's NFKC maps some of
// them (⅐, subscripts, enclosed letters).
func passwordForms(password string) []string {
	forms := []string{password}
	add := func(p string) {
		for _, f := range forms {
			if f == p {
				return
			}
		}
		forms = append(forms, p)
	}
	if p, ok := SASLprep(password); ok {
		add(p)
		add(saslMap(password))
	}
	return forms
}
