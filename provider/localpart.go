package provider

import (
	"errors"

	"golang.org/x/text/cases"
	"mellium.im/xmpp/jid"
)

// errBadLocalpart is returned by NormalizeLocalpart for names that cannot
// be the local part of a Jabber ID.
var errBadLocalpart = errors.New("not a valid XMPP localpart")

// NormalizeLocalpart returns s prepared as the local part of a Jabber ID
// (PRECIS UsernameCaseMapped, as RFC 7622 requires: case-folded, width-
// and Unicode-normalised), or an error when s cannot be one: empty, longer
// than 1023 bytes, or holding a space or one of " & ' / : < > @.
func NormalizeLocalpart(s string) (string, error) {
	if s == "" {
		return "", errBadLocalpart
	}
	j, err := jid.New(s, "localhost", "")
	if err != nil || j.Localpart() == "" {
		return "", errBadLocalpart
	}
	return j.Localpart(), nil
}

// JID returns the Jabber ID of a livechat_id on a chat domain:
// <livechat_id>@<domain>, normalised.
func JID(livechatID, domain string) (jid.JID, error) {
	return jid.New(livechatID, domain, "")
}

// SameLocalpart reports whether the normalised local parts a and b name
// the same account. Beyond PRECIS, it applies full Unicode case folding,
// because ejabberd's nodeprep folds where PRECIS keeps (ß arrives as ss).
// Accents still matter: zoe is not zoë.
func SameLocalpart(a, b string) bool {
	if a == b {
		return true
	}
	fold := cases.Fold()
	return fold.String(a) == fold.String(b)
}
