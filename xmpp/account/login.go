package account

import (
	"context"
	"errors"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
)

// SignInTimeout bounds one sign-in: dialling, TLS, SASL and binding.
const SignInTimeout = 30 * time.Second

// Login is how one of our own accounts signs in: where and as whom (a
// Config without its password), and the password, asked afresh for each
// sign-in (a one-time token serves once). It is built once, from the
// settings, and used by everything that signs the account in; it is safe
// for concurrent use when its password function is. The zero Login has
// no account: every sign-in fails.
type Login struct {
	cfg      Config
	password func(context.Context) (string, error)
}

// NewLogin returns the Login of cfg's account (cfg.Password is not used);
// password gives the password of each sign-in, or why there is none.
func NewLogin(cfg Config, password func(context.Context) (string, error)) Login {
	cfg.Password = ""
	return Login{cfg: cfg, password: password}
}

// JID is the account's JID; the zero JID when there is no account.
func (l Login) JID() jid.JID { return l.cfg.JID }

// Config returns the settings of one sign-in, with a fresh password.
func (l Login) Config(ctx context.Context) (Config, error) {
	if l.password == nil {
		return Config{}, errors.New("no account to sign in as")
	}
	pw, err := l.password(ctx)
	if err != nil {
		return Config{}, err
	}
	cfg := l.cfg
	cfg.Password = pw
	return cfg, nil
}

// Dial signs the account in with a fresh password, within SignInTimeout,
// and serves its session with handlers, as Dial does.
func (l Login) Dial(ctx context.Context, handlers ...mux.Option) (*Session, error) {
	cfg, err := l.Config(ctx)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, SignInTimeout)
	defer cancel()
	return Dial(dctx, cfg, handlers...)
}
