package session

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestDecodeObject(t *testing.T) {
	for _, c := range []struct {
		name, body string
		ok         bool
	}{
		{"one object", `{"login":"alice","nonce":"1"}`, true},
		{"empty object", `{}`, true},
		{"unknown key", `{"login":"alice","admin":true}`, false},
		{"key in another case", `{"Login":"alice"}`, false},
		{"repeated key", `{"login":"alice","login":"bob"}`, false},
		{"two objects", `{"login":"alice"}{}`, false},
		{"trailing junk", `{"login":"alice"} x`, false},
		{"an array", `[{"login":"alice"}]`, false},
		{"not closed", `{"login":"alice"`, false},
		{"empty", ``, false},
		{"a string", `"login"`, false},
		{"an escaped key", `{"log\u0069n":"alice"}`, false},
		{"a null value", `{"login":null,"nonce":"1"}`, false},
		{"invalid UTF-8", "{\"login\":\"\xff\"}", false},
		{"a lone high surrogate", `{"login":"\ud800x"}`, false},
		{"a lone low surrogate", `{"login":"\udc00"}`, false},
		{"a surrogate pair", `{"login":"\ud83d\ude00"}`, true},
		{"an escaped backslash before u", `{"login":"a\\ud800"}`, true},
		{"escapes in a value", `{"login":"\u0061lice"}`, true},
	} {
		_, err := DecodeObject([]byte(c.body), "login", "nonce")
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
	if _, err := DecodeStrings([]byte(`{"login":7}`), "login"); err == nil {
		t.Error("a number taken for a string")
	}
}

// FuzzDecodeObject: any body either is refused or decodes to known keys
// only, and what it decodes to encodes and decodes back to the same.
// The session and migration APIs read every signed call through it.
func FuzzDecodeObject(f *testing.F) {
	for _, seed := range []string{
		`{"login":"alice","nonce":"1"}`,
		`{"action":"claim","login":"rupert","chat_name":"rupe","chat_password":"pw"}`,
		`{"login":"alice","login":"alice"}`,
		`{"metadata":{"a":[1,2,{"b":null}]},"user_id":7}`,
		`{"login":"\u00e9\ud83d\ude00"}{}`,
		"{\"login\":\"\xff\"}",
		`{"login":"alice"} `,
	} {
		f.Add([]byte(seed))
	}
	allowed := []string{"action", "login", "user_id", "locale", "metadata", "nonce", "chat_name", "chat_password"}
	f.Fuzz(func(t *testing.T, body []byte) {
		values, err := DecodeObject(body, allowed...)
		if err != nil {
			return
		}
		for k := range values {
			if !contains(allowed, k) {
				t.Fatalf("unknown key %q accepted", k)
			}
		}
		if !utf8.Valid(body) {
			return // encoding/json replaces invalid UTF-8: no stable round trip
		}
		again, err := json.Marshal(values)
		if err != nil {
			t.Fatalf("accepted values do not encode: %v", err)
		}
		back, err := DecodeObject(again, allowed...)
		if err != nil {
			t.Fatalf("re-encoded %q refused: %v", again, err)
		}
		for k, v := range values {
			var a, b any
			if json.Unmarshal(v, &a) != nil || json.Unmarshal(back[k], &b) != nil {
				t.Fatalf("value of %q does not decode", k)
			}
			ea, _ := json.Marshal(a)
			eb, _ := json.Marshal(b)
			if !bytes.Equal(ea, eb) {
				t.Fatalf("value of %q changed: %s → %s", k, ea, eb)
			}
		}
		_, _ = DecodeStrings(body, allowed...) // must not panic either
	})
}
