package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Header names of a signed request.
const (
	HeaderTimestamp = "X-Livechat-Timestamp"
	HeaderSignature = "X-Livechat-Signature"
)

// signaturePrefix starts the signature header; 64 lower-case hex digits
// follow it.
const signaturePrefix = "sha256="

// Sign returns the signature header value for a request body sent at ts.
func Sign(key []byte, ts time.Time, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(key, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// checkSignature verifies the timestamp and signature headers of body
// (every value each header was sent with). It returns the verified MAC,
// or the error code for the response.
//
// Only the one encoding Sign produces is accepted: one header each, the
// timestamp in plain decimal, "sha256=" and exactly 64 lower-case hex
// digits. A decoder that also took upper case or stray bytes would let one
// captured request pass under many spellings; the caller keys its
// once-only record on the returned MAC, so no spelling slips past it. It
// also returns the verified timestamp (unix seconds).
func checkSignature(key []byte, tsHeaders, sigHeaders []string, body []byte, now time.Time, maxSkew time.Duration) (verified []byte, ts int64, code string) {
	verified, code = checkSigned(key, tsHeaders, sigHeaders, body, now, maxSkew)
	if code != "" {
		return nil, 0, code
	}
	ts, _ = strconv.ParseInt(tsHeaders[0], 10, 64) // checked by checkSigned
	return verified, ts, ""
}

func checkSigned(key []byte, tsHeaders, sigHeaders []string, body []byte, now time.Time, maxSkew time.Duration) ([]byte, string) {
	if len(tsHeaders) != 1 {
		return nil, "bad-timestamp"
	}
	tsHeader := tsHeaders[0]
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || sec <= 0 || strconv.FormatInt(sec, 10) != tsHeader {
		return nil, "bad-timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return nil, "stale-timestamp"
	}
	if len(sigHeaders) != 1 {
		return nil, "bad-signature"
	}
	got, ok := canonicalHex(sigHeaders[0])
	if !ok {
		return nil, "bad-signature"
	}
	want := mac(key, tsHeader, body)
	if !hmac.Equal(got, want) {
		return nil, "bad-signature"
	}
	return want, ""
}

// canonicalHex decodes a signature header written exactly as Sign writes
// it.
func canonicalHex(header string) ([]byte, bool) {
	if len(header) != len(signaturePrefix)+2*sha256.Size || header[:len(signaturePrefix)] != signaturePrefix {
		return nil, false
	}
	digits := header[len(signaturePrefix):]
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(digits)
	return b, err == nil
}

// VerifyOnce checks a signed request as ServeHTTP does, for the other
// signed APIs (the migration API): the signature headers of body, then
// its first use in seen. It returns "" when the request is good, else the
// error code and HTTP status of the refusal.
func VerifyOnce(ctx context.Context, key []byte, seen SeenRecord, h http.Header, body []byte, now time.Time, maxSkew time.Duration) (code string, status int) {
	verified, ts, code := checkSignature(key, h.Values(HeaderTimestamp), h.Values(HeaderSignature), body, now, maxSkew)
	if code != "" {
		return code, http.StatusUnauthorized
	}
	first, err := seen.FirstUse(ctx, verified, ts, now, maxSkew)
	switch {
	case err != nil:
		return "state-unavailable", http.StatusServiceUnavailable
	case !first:
		return "replayed", http.StatusUnauthorized
	}
	return "", 0
}
