package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
)

// AdminLogin is how the room-sync account (rooms.jid, at rooms.server
// with rooms.tls) signs in, built once per settings for room sync, ending
// sessions and the migration API: with rooms.password, or, without one,
// a fresh one-time token minted for its wiki account (so no password is
// stored for it). accounts and minter serve only that token. When the
// settings give the account no way in, every sign-in fails saying why.
func AdminLogin(cfg config.Config, accounts *provider.Authenticator, minter *token.Minter) account.Login {
	j, err := cfg.Rooms.Account()
	if err != nil {
		return failedLogin(err)
	}
	dial := account.Config{Addr: cfg.Rooms.Address(), JID: j, TLS: cfg.Rooms.TLS}
	if cfg.Rooms.Password != "" {
		pw := string(cfg.Rooms.Password)
		return account.NewLogin(dial, func(context.Context) (string, error) { return pw, nil })
	}
	if minter == nil || accounts == nil {
		return failedLogin(errors.New("rooms.password: required unless token.signing_key_file or token.secret can mint a token for the sync account"))
	}
	subjectClaim := cfg.Token.SubjectClaim
	return account.NewLogin(dial, func(ctx context.Context) (string, error) {
		acct, err := accounts.Resolve(ctx, provider.Lookup{Name: j.Localpart(), Domain: j.Domainpart()})
		if err != nil {
			return "", fmt.Errorf("rooms.jid: %s: %w", j, err)
		}
		raw, _, err := minter.Mint(subjectClaim, acct.Subject)
		return raw, err
	})
}

// OpenAdminLogin is AdminLogin for a command that has no decision maker
// of its own: the token keys are read only when rooms.password is not
// set. Background work (JWKS refresh) ends with ctx.
func OpenAdminLogin(ctx context.Context, cfg config.Config, store *wikidb.Store, log hclog.Logger) account.Login {
	if cfg.Rooms.Password != "" {
		return AdminLogin(cfg, nil, nil)
	}
	auth, tokens, err := NewAuthenticator(ctx, cfg, store, log, Options{})
	if err != nil {
		return failedLogin(err)
	}
	return AdminLogin(cfg, auth, tokens.Minter)
}

// failedLogin is a Login whose every sign-in fails with err.
func failedLogin(err error) account.Login {
	return account.NewLogin(account.Config{}, func(context.Context) (string, error) { return "", err })
}
