package provider

import "testing"

func TestSASLprep(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"alice-pw-1", "alice-pw-1", true},
		{"alice\u00ad-pw-1", "alice-pw-1", true},   // soft hyphen: mapped to nothing
		{"al\u200bice", "al ice", true},            // zero-width space: a space, as libidn maps it
		{"\uff41lice", "alice", true},              // full-width: NFKC
		{"a\u00a0b", "a b", true},                  // no-break space: a space
		{"I\u2168", "IIX", true},                   // NFKC of Roman numeral nine
		{"x\u0007", "x\u0007", false},              // a control: prohibited
		{"eyJ\u00adhbGc.x.y", "eyJhbGc.x.y", true}, // a token's shape comes back
		{"p\u00e4ss", "p\u00e4ss", true},           // composed stays
		{"pa\u0308ss", "p\u00e4ss", true},          // decomposed composes
		{"\ue000", "\ue000", false},                // private use
	} {
		got, ok := SASLprep(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("SASLprep(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if forms := passwordForms("plain"); len(forms) != 1 {
		t.Errorf("passwordForms of an unchanged password: %q", forms)
	}
	if forms := passwordForms("a\u00adb"); len(forms) != 2 || forms[1] != "ab" {
		t.Errorf("passwordForms(a\\u00adb) = %q", forms)
	}
	// A character newer than Unicode 3.2 (⅐), which Prosody leaves as it
	// is, beside a soft hyphen: the mapped form without NFKC is judged too.
	if forms := passwordForms("\u2150\u00adsecret"); !contains(forms, "\u2150secret") {
		t.Errorf("passwordForms(⅐ soft hyphen secret) = %q, want ⅐secret among them", forms)
	}
	if forms := passwordForms("correct\u200bhorse"); !contains(forms, "correct horse") {
		t.Errorf("passwordForms(correct ZWSP horse) = %q, want correct horse among them", forms)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
