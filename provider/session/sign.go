package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Header names of a signed request.
const (
	HeaderTimestamp = "X-Livechat-Timestamp"
	HeaderSignature = "X-Livechat-Signature"
)

// Sign returns the signature header value for a request body sent at ts.
func Sign(key []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(key, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// checkSignature verifies the timestamp and signature headers of body.
// It returns the error code for the response, or "".
func checkSignature(key []byte, tsHeader, sigHeader string, body []byte, now time.Time, maxSkew time.Duration) string {
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return "bad-timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return "stale-timestamp"
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sigHeader, "sha256="))
	if err != nil || !strings.HasPrefix(sigHeader, "sha256=") {
		return "bad-signature"
	}
	if !hmac.Equal(got, mac(key, tsHeader, body)) {
		return "bad-signature"
	}
	return ""
}
