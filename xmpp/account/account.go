// Package account signs one of livechat-auth's own chat accounts (the
// room-sync account, the session administrator) in to the chat server
// and sends its IQs. It knows nothing of what the account is for.
package account

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// Config says how to reach the chat server and as whom.
type Config struct {
	Addr     string // host:port of the client (c2s) listener
	JID      jid.JID
	Password string
	// TLS: "starttls" (default; certificates verified), or "none" for a
	// loopback server in tests, where the password travels in the clear.
	TLS       string
	TLSConfig *tls.Config
}

// Session is a signed-in account. It counts the IQs it sends. Close ends
// it.
type Session struct {
	xmpp   *xmpp.Session
	self   jid.JID
	served chan error
	reads  atomic.Int64
	writes atomic.Int64
}

// Dial signs the account in and serves its session with the given
// handlers (mux options; none: incoming requests are answered with an
// error).
func Dial(ctx context.Context, cfg Config, handlers ...mux.Option) (*Session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Addr, err)
	}
	features := []xmpp.StreamFeature{xmpp.SASL("", cfg.Password, sasl.ScramSha256Plus, sasl.ScramSha256, sasl.Plain), xmpp.BindResource()}
	var state xmpp.SessionState
	switch cfg.TLS {
	case "none":
		state = xmpp.Secure // tells mellium to run SASL on this loopback stream
	default:
		tc := cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: cfg.JID.Domainpart(), MinVersion: tls.VersionTLS12}
		}
		features = append([]xmpp.StreamFeature{xmpp.StartTLS(tc)}, features...)
	}
	session, err := xmpp.NewSession(ctx, cfg.JID.Domain(), cfg.JID, conn, state, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: features}
		}))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sign in as %s: %w", cfg.JID, err)
	}
	s := &Session{xmpp: session, self: session.LocalAddr().Bare(), served: make(chan error, 1)}
	go func() { s.served <- session.Serve(mux.New("jabber:client", handlers...)) }()
	return s, nil
}

// Close ends the session.
func (s *Session) Close() error {
	err := s.xmpp.Close()
	return errors.Join(err, s.xmpp.Conn().Close())
}

// XMPP is the underlying session, for the protocols that need it whole.
func (s *Session) XMPP() *xmpp.Session { return s.xmpp }

// Self is the account's bare JID.
func (s *Session) Self() jid.JID { return s.self }

// Address is the account's full JID (with the resource bound).
func (s *Session) Address() jid.JID { return s.xmpp.LocalAddr() }

// Requests returns how many reads (get) and writes (set) were sent.
func (s *Session) Requests() (reads, writes int64) { return s.reads.Load(), s.writes.Load() }

// CountWrite counts a write sent some other way than IQ.
func (s *Session) CountWrite() { s.writes.Add(1) }

// IQ sends an IQ with an XML payload and decodes the answer's payload
// into v (may be nil). An error reply is a stanza.Error.
func (s *Session) IQ(ctx context.Context, to jid.JID, typ stanza.IQType, payload string, v any) error {
	if typ == stanza.SetIQ {
		s.writes.Add(1)
	} else {
		s.reads.Add(1)
	}
	iq := stanza.IQ{To: to, Type: typ}
	r := xml.NewDecoder(strings.NewReader(payload))
	if v == nil {
		v = &struct{}{}
	}
	return s.xmpp.UnmarshalIQElement(ctx, r, iq, v)
}

// Escape escapes s for XML text and attribute values.
func Escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
