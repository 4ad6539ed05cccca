// Package harness holds what the integration tests of test/ and
// test/docker share: the rule for a missing prerequisite (skip locally,
// fail under CI), a reader of Prometheus's text format, and a real XMPP
// client's sign-in over plain TCP on loopback. It is imported by tests
// only.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// Need decides what a missing prerequisite means: locally the test is
// skipped with a hint; with CI set it fails, so CI never passes by
// skipping. It is the one place this rule is written.
func Need(t testing.TB, what string, ok bool, hint string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s unavailable (CI must run every test): %s", what, hint)
	}
	t.Skipf("%s unavailable: %s", what, hint)
}

// Series reads a Prometheus text exposition and returns the value of
// every series, by name and labels as the format writes them
// (`livechat_auth_decisions_total{cmd="auth",edge="extauth",result="accepted"}`).
func Series(t testing.TB, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	s := bufio.NewScanner(strings.NewReader(body))
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[name] = v
	}
	return out
}

// SignIn signs in as address over plain TCP to addr with mellium's client
// (SASL PLAIN, then resource binding), giving up after limit, and closes
// the session. A refusal is an error (see IsRefusal).
func SignIn(ctx context.Context, limit time.Duration, addr, address, password string) error {
	j, err := jid.Parse(address)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Loopback without TLS: tell mellium the stream is secure so that it
	// runs SASL.
	s, err := xmpp.NewSession(ctx, j.Domain(), j, conn, xmpp.Secure, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{
				xmpp.SASL("", password, sasl.Plain),
				xmpp.BindResource(),
			}}
		}))
	if err != nil {
		return fmt.Errorf("sign in as %s: %w", address, err)
	}
	return s.Close()
}

// IsRefusal tells a server's SASL "no" (a <failure/> with
// <not-authorized/>) from any other failure of SignIn.
func IsRefusal(err error) bool {
	var failure interface {
		error
		xml.Marshaler
	}
	if !errors.As(err, &failure) {
		return false
	}
	out, merr := xml.Marshal(failure)
	return merr == nil && bytes.Contains(out, []byte("urn:ietf:params:xml:ns:xmpp-sasl")) && bytes.Contains(out, []byte("<not-authorized"))
}
