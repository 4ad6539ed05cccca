package provider

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"mellium.im/xmpp/jid"

	"golang.org/x/crypto/bcrypt"
)

// FuzzVerifyPassword feeds arbitrary stored hashes and passwords.
// Invariants: no panic; the answer is nil or one of the three refusals a
// hash check can give; an empty or DES hash never matches.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$2y$04$kWCi74fRvJLiNgVt7L5JruMRsHxYJbYLUULccd3dxjygKZHjtvlt.", "pw", "login", "e@x")
	f.Add("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "pw", "", "")
	f.Add("5f4dcc3b5aa765d61d8327deb882cf99", "password", "login", " e@x ")
	f.Add("0e462097431906509019562988736854", "QNKCDZO", "", "")
	f.Add("abJnggxhB/yWI", "pw", "", "")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, hash, password, login, email string) {
		if cost, err := bcrypt.Cost([]byte(hash)); err == nil && cost > 6 {
			t.Skip("slow by design; the cap is tested in TestVerifyPasswordRefusals")
		}
		err := VerifyPassword(hash, password, login, email)
		if err != nil && !errors.Is(err, ReasonBadPassword) && !errors.Is(err, ReasonUnsupportedHash) && !errors.Is(err, ReasonNoLocalPassword) {
			t.Fatalf("VerifyPassword(%q) = %v", hash, err)
		}
		if f := FormatOf(hash); err == nil && (f == FormatEmpty || f == FormatDES || f == FormatUnknown) {
			t.Fatalf("%s hash %q matched", f, hash)
		}
	})
}

// FuzzNormalizeLocalpart checks NormalizeLocalpart against RFC 7622's
// definition of a localpart, computed here on its own: the PRECIS
// UsernameCaseMapped profile, then at most 1023 bytes, not empty, none of
// " & ' / : < > @. Invariants: the two agree on which names are valid and
// on the normal form; normalising is idempotent; the normal form survives
// a round trip through a Jabber ID's text.
func FuzzNormalizeLocalpart(f *testing.F) {
	for _, s := range []string{"alice", "Trent.Support", "zoë", "Straße", "a b", "x@y", "ＡＢＣ", "\u0301", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeLocalpart(s)
		want, wantErr := rfc7622Localpart(s)
		if (err == nil) != (wantErr == nil) || n != want {
			t.Fatalf("NormalizeLocalpart(%q) = %q, %v; RFC 7622 gives %q, %v", s, n, err, want, wantErr)
		}
		if err != nil {
			return
		}
		again, err := NormalizeLocalpart(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
		j, err := JID(n, "chat.test")
		if err != nil {
			t.Fatalf("normalised %q gives no JID: %v", n, err)
		}
		back, err := jid.Parse(j.String())
		if err != nil || back.Localpart() != n || back.Domainpart() != "chat.test" {
			t.Fatalf("%q -> %q -> %q (%v): the localpart did not survive", n, j, back.Localpart(), err)
		}
	})
}

// rfc7622Localpart prepares s as RFC 7622 section 3.3 defines a localpart.
func rfc7622Localpart(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("invalid UTF-8")
	}
	n, err := precis.UsernameCaseMapped.String(s)
	switch {
	case err != nil:
		return "", err
	case n == "" || len(n) > 1023:
		return "", errors.New("length")
	case strings.ContainsAny(n, `"&'/:<>@`):
		return "", errors.New("forbidden character")
	}
	return n, nil
}
