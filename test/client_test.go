package test

import (
	"context"
	"fmt"
	"net"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// goSignIn signs in over plain TCP with mellium's client (SASL PLAIN, then
// resource binding) and closes the session. A refusal is an error.
func goSignIn(ctx context.Context, addr, address, password string) error {
	return goSignInWithin(ctx, 15*time.Second, addr, address, password)
}

// goSignInWithin is goSignIn giving up after limit.
func goSignInWithin(ctx context.Context, limit time.Duration, addr, address, password string) error {
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
	// runs SASL, as DESIGN.md describes.
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
