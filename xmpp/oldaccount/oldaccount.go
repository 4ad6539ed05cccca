// Package oldaccount works on the chat server's own accounts, the ones
// made before the wiki took over sign-ins: it proves a password by signing
// in as the account, removes the account (or retires its password) over
// in-band registration (XEP-0077), and tells whether a name is an account
// on the server. It decides nothing about wiki accounts.
package oldaccount

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"livechat-auth/provider/migration"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/admin"
	"livechat-auth/xmpp/ejabberdapi"
)

// The errors of Server's methods are the ones the migration API tells
// apart, defined where they are used.
var (
	// ErrNotAuthorized: the server refused the password (or knows no
	// such account: servers do not say which).
	ErrNotAuthorized = migration.ErrNotAuthorized
	// ErrRefused wraps the server's refusal of a removal or password
	// change (an error stanza: in-band registration not enabled, not
	// allowed).
	ErrRefused = migration.ErrRefused
	// ErrUnavailable wraps faults of the chat server: it could not be
	// reached, or answered something unexpected.
	ErrUnavailable = migration.ErrUnavailable
)

// Server is the chat server the old accounts live on.
type Server struct {
	Addr      string // host:port of the client listener
	Domain    string // the XMPP domain of the accounts
	TLS       string // as account.Config.TLS
	TLSConfig *tls.Config
	// Admin, when set, says how to sign in a server administrator that
	// can run the service administration command user-stats (XEP-0133),
	// which Prosody's mod_admin_adhoc answers "User does not exist" to.
	Admin func(context.Context) (account.Config, error)
	// EjabberdAPI, when set, is the URL of ejabberd's mod_http_api
	// (e.g. http://127.0.0.1:5281/api); its check_account command tells
	// whether an account exists. ejabberd's XEP-0133 commands do not.
	EjabberdAPI string
	// EjabberdAPIToken is sent as a bearer token to EjabberdAPI when set.
	EjabberdAPIToken string
	HTTP             *http.Client // nil: a client with a 5 s timeout
}

// Session is a sign-in as an old account.
type Session struct{ s *account.Session }

// SignIn signs in as name@Domain with password. A refused password is
// ErrNotAuthorized; any other failure wraps ErrUnavailable.
func (srv *Server) SignIn(ctx context.Context, name, password string) (*Session, error) {
	j, err := jid.New(name, srv.Domain, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAuthorized, err)
	}
	s, err := account.Dial(ctx, account.Config{Addr: srv.Addr, JID: j, Password: password, TLS: srv.TLS, TLSConfig: srv.TLSConfig})
	if err != nil {
		if refused(err) {
			return nil, ErrNotAuthorized
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return &Session{s: s}, nil
}

// refused reports whether err holds a SASL failure that refuses these
// credentials (not-authorized, and malformed-request, incorrect-encoding,
// account-disabled, credentials-expired or invalid-authzid: a password the
// server will not take is a wrong one), rather than a fault of the server
// (temporary-auth-failure, a mechanism or encryption it wants). mellium
// keeps its failure type internal, and its text is the server's own
// words, so the failure is read back as XML.
func refused(err error) bool {
	var failure interface {
		error
		MarshalXML(*xml.Encoder, xml.StartElement) error
	}
	if !errors.As(err, &failure) {
		return false
	}
	raw, err := xml.Marshal(failure)
	if err != nil {
		return false
	}
	for _, fault := range []string{"<temporary-auth-failure", "<aborted", "<encryption-required", "<invalid-mechanism", "<mechanism-too-weak"} {
		if bytes.Contains(raw, []byte(fault)) {
			return false
		}
	}
	for _, condition := range []string{"<not-authorized", "<malformed-request", "<incorrect-encoding", "<account-disabled", "<credentials-expired", "<invalid-authzid"} {
		if bytes.Contains(raw, []byte(condition)) {
			return true
		}
	}
	return false
}

// Close ends the session.
func (s *Session) Close() error { return s.s.Close() }

// Remove deletes the signed-in account (XEP-0077 <remove/>). Servers
// delete its roster, offline messages and vCard with it.
func (s *Session) Remove(ctx context.Context) error {
	err := s.s.IQ(ctx, jid.JID{}, stanza.SetIQ, `<query xmlns='jabber:iq:register'><remove/></query>`, nil)
	// ejabberd and Prosody may close the stream right after the answer
	// (or instead of it, once the account is gone).
	if err != nil && !isClosed(err) {
		var se stanza.Error
		if errors.As(err, &se) {
			return fmt.Errorf("%w to remove the account: %s (is in-band registration, XEP-0077, enabled for removal?)", ErrRefused, se.Condition)
		}
		return fmt.Errorf("%w: remove the account: %v", ErrUnavailable, err)
	}
	return nil
}

// Retire replaces the signed-in account's password with a random one
// nobody is told (XEP-0077 password change): the old password stops
// working, and the account's roster and archive stay.
func (s *Session) Retire(ctx context.Context) error {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail
	payload := fmt.Sprintf(`<query xmlns='jabber:iq:register'><username>%s</username><password>%s</password></query>`,
		account.Escape(s.s.Self().Localpart()), hex.EncodeToString(b))
	if err := s.s.IQ(ctx, jid.JID{}, stanza.SetIQ, payload, nil); err != nil {
		var se stanza.Error
		if errors.As(err, &se) {
			return fmt.Errorf("%w to change the password: %s", ErrRefused, se.Condition)
		}
		return fmt.Errorf("%w: change the password: %v", ErrUnavailable, err)
	}
	return nil
}

// isClosed reports whether err is the stream ending under the request.
func isClosed(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "closed") || strings.Contains(msg, "EOF")
}

// CheckPassword signs in as name with password and out again.
func (srv *Server) CheckPassword(ctx context.Context, name, password string) error {
	s, err := srv.SignIn(ctx, name, password)
	if err != nil {
		return err
	}
	_ = s.Close() // the password is proved; how the stream ends does not matter
	return nil
}

// RemoveAccount signs in as name with password and removes the account,
// or with retire replaces its password with a random one.
func (srv *Server) RemoveAccount(ctx context.Context, name, password string, retire bool) error {
	s, err := srv.SignIn(ctx, name, password)
	if err != nil {
		return err
	}
	defer s.Close()
	if retire {
		return s.Retire(ctx)
	}
	return s.Remove(ctx)
}

// CanCheck reports whether Exists can ask the server.
func (srv *Server) CanCheck() bool { return srv.EjabberdAPI != "" || srv.Admin != nil }

// Exists reports whether name is an account on the server, asking
// ejabberd's API when configured, else the administrator's user-stats
// command. Servers count the wiki's accounts as theirs too.
func (srv *Server) Exists(ctx context.Context, name string) (bool, error) {
	switch {
	case srv.EjabberdAPI != "":
		return srv.ejabberdExists(ctx, name)
	case srv.Admin != nil:
		return srv.adminExists(ctx, name)
	}
	return false, errors.New("no way to ask the chat server about its accounts is configured")
}

func (srv *Server) adminExists(ctx context.Context, name string) (bool, error) {
	j, err := jid.New(name, srv.Domain, "")
	if err != nil {
		return false, err
	}
	cfg, err := srv.Admin(ctx)
	if err != nil {
		return false, err
	}
	s, err := account.Dial(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("%w: sign in as %s: %v", ErrUnavailable, cfg.JID, err)
	}
	defer s.Close()
	exists, err := admin.New(s).UserExists(ctx, j)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return exists, nil
}

func (srv *Server) ejabberdExists(ctx context.Context, name string) (bool, error) {
	api := ejabberdapi.Client{URL: srv.EjabberdAPI, Token: srv.EjabberdAPIToken, HTTP: srv.HTTP}
	exists, err := api.AccountExists(ctx, name, srv.Domain)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return exists, nil
}
