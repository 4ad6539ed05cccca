package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the one helper of the wiki's signed JSON calls, the session
// API here and the migration API (package provider/migration): a POST
// whose bounded body is signed with the session key and good once, read
// strictly as one JSON object of known keys, answered in JSON that is
// never cached.

// Endpoint reads signed calls. Its zero MaxSkew is 5 minutes.
type Endpoint struct {
	Key     []byte        // the session key
	Seen    SeenRecord    // where a call's first use is recorded
	MaxSkew time.Duration // how far a call's timestamp may be from now
	MaxBody int64         // the largest body read
}

// Refusal is a call refused before its body was understood: the HTTP
// status, and the code and message of the JSON answer.
type Refusal struct {
	Status  int
	Code    string
	Message string
}

// Read returns the body of a POST signed with e.Key within e.MaxSkew of
// now and not seen before, or why it is refused: 405 method-not-allowed
// (with Allow set), 413 bad-request, 401 signature, timestamp or
// replayed, 503 state-unavailable when Seen cannot tell. It logs nothing:
// the caller logs one line per call.
func (e Endpoint) Read(w http.ResponseWriter, r *http.Request, now time.Time) ([]byte, *Refusal) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &Refusal{http.StatusMethodNotAllowed, "method-not-allowed", "use POST"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.MaxBody))
	if err != nil {
		return nil, &Refusal{http.StatusRequestEntityTooLarge, "bad-request", "body too large or unreadable"}
	}
	skew := e.MaxSkew
	if skew <= 0 {
		skew = 5 * time.Minute
	}
	switch code, status := VerifyOnce(r.Context(), e.Key, e.Seen, r.Header, body, now, skew); code {
	case "":
		return body, nil
	case "replayed":
		return nil, &Refusal{status, code, "this signed request was already used"}
	case "state-unavailable":
		return nil, &Refusal{status, code, "the shared record of used requests did not answer"}
	default:
		return nil, &Refusal{status, code, "the request is not signed with the session key, or not recently"}
	}
}

// DecodeObject reads body as exactly one JSON object whose keys are among
// allowed, each spelled exactly and given at most once, with nothing
// after it, and returns each key's raw value. A body another JSON reader
// could take in another way (a second object, a repeated or re-cased key)
// is refused rather than guessed at. Its errors are messages for the
// caller.
//
// Keys must be written plainly (no escapes: "log\u0069n" is no key), no
// value may be null, and the body must be valid UTF-8 with no lone
// surrogate escape (which JSON readers would turn into U+FFFD, each in its
// own way).
func DecodeObject(body []byte, allowed ...string) (map[string]json.RawMessage, error) {
	notOne := errors.New("the body is not one JSON object")
	if !utf8.Valid(body) || loneSurrogate(body) {
		return nil, errors.New("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, notOne
	}
	values := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, notOne
		}
		key, _ := t.(string) // an object's keys are strings
		end := int(dec.InputOffset())
		written := end >= len(key)+2 && string(body[end-len(key)-2:end]) == `"`+key+`"`
		switch _, dup := values[key]; {
		case !written || !contains(allowed, key):
			return nil, fmt.Errorf("unknown field %q: the fields are %s", key, strings.Join(allowed, ", "))
		case dup:
			return nil, fmt.Errorf("field %q given twice", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, notOne
		}
		if string(v) == "null" {
			return nil, fmt.Errorf("field %q is null: leave it out", key)
		}
		values[key] = v
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, notOne
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the body holds more than one JSON object")
	}
	return values, nil
}

// DecodeStrings is DecodeObject for a body whose values are all strings.
func DecodeStrings(body []byte, allowed ...string) (map[string]string, error) {
	raw, err := DecodeObject(body, allowed...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("field %q must be a string", k)
		}
		out[k] = s
	}
	return out, nil
}

// loneSurrogate reports whether body holds a \uD800–\uDFFF escape that is
// not half of a surrogate pair.
func loneSurrogate(body []byte) bool {
	hex4 := func(i int) (uint16, bool) {
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return 0, false
		}
		var v uint16
		for _, c := range body[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | uint16(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | uint16(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | uint16(c-'A'+10)
			default:
				return 0, false
			}
		}
		return v, true
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		v, ok := hex4(i)
		if !ok {
			i++ // an escape such as \\ or \": skip what it escapes
			continue
		}
		switch {
		case v >= 0xD800 && v <= 0xDBFF:
			if low, ok := hex4(i + 6); !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 11
		case v >= 0xDC00 && v <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteJSON answers v as JSON with status, never to be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}
