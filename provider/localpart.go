package provider

import (
	"errors"

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
