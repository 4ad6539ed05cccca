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

// IsAccountName reports whether the normalised localpart name, as a chat
// server sent it, is the account whose stored livechat_id normalises to
// stored: the same localpart, or the one ejabberd's nodeprep makes of it
// (nodeprep folds case fully where PRECIS keeps, so straße arrives as
// strasse). The fold goes one way only, from what is stored to what was
// asked: a name is never matched by folding the name itself, so two
// accounts the database keeps apart (иванов and иванᲂв, αι and ᾳ) are
// never taken for one another. Accents still matter: zoe is not zoë.
func IsAccountName(name, stored string) bool {
	return name == stored || cases.Fold().String(stored) == name
}
