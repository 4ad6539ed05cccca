package provider

import (
	"errors"
	"testing"

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

// FuzzNormalizeLocalpart checks that normalisation never panics, is
// idempotent, and yields a name that makes a valid Jabber ID.
func FuzzNormalizeLocalpart(f *testing.F) {
	for _, s := range []string{"alice", "Trent.Support", "zoë", "Straße", "a b", "x@y", "ＡＢＣ", "\u0301", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeLocalpart(s)
		if err != nil {
			return
		}
		again, err := NormalizeLocalpart(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
		if _, err := JID(n, "chat.test"); err != nil {
			t.Fatalf("normalised %q gives no JID: %v", n, err)
		}
		if !SameLocalpart(n, n) {
			t.Fatalf("SameLocalpart(%q, itself) is false", n)
		}
	})
}
