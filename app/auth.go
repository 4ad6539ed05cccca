package app

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

var _ provider.Directory = (*wikidb.Store)(nil)

// Tokens is everything built from the token settings (token.Open). Its
// fields are nil when tokens are off; Minter and Keys are nil when
// nothing can mint.
type Tokens struct {
	Verifier *token.Verifier
	Minter   *token.Minter
	Keys     *token.KeySet
}

// Options are what a command adds to the settings when it builds a
// decision maker: the state that serve and the daemon keep across
// reloads (State.Options), and how strict to be about a JWKS.
type Options struct {
	// Memory is the failure counts and verified passwords to keep;
	// nil: a fresh one.
	Memory *provider.Memory
	// Used is the record of used tokens to keep; nil: a fresh one.
	Used token.UsedRecord
	// Failures is where failure counts are kept when not in Memory (a
	// shared Redis); nil: in Memory.
	Failures provider.FailureCounts
	// OldPasswords is where the migration API's proofs are kept when not
	// in Memory (a shared Redis); nil: in Memory.
	OldPasswords provider.OldPasswords
	// RequireJWKS makes a token.jwks_url that cannot be fetched now an
	// error (serve: at start and on reload). Otherwise it is logged and
	// fetched again in the background (extauth must start regardless).
	RequireJWKS bool
}

// OpenStore opens the wiki database with the settings' pool, timeouts
// and caches. Errors name wiki.dsn.
func OpenStore(cfg config.Wiki) (*wikidb.Store, error) {
	store, err := wikidb.Open(string(cfg.DSN), wikidb.Config{
		QueryTimeout: cfg.QueryTimeout, MaxOpenConns: cfg.MaxOpenConns, PrefsRefresh: cfg.PrefsRefresh,
		AccountCache: cfg.AccountCache,
	})
	if err != nil {
		return nil, fmt.Errorf("wiki.dsn: %w", err)
	}
	return store, nil
}

// OpenTokens loads the keys named in the settings (token.Open). A JWKS
// is fetched and refreshed in the background until ctx ends. Errors name
// the setting and its file or URL.
func OpenTokens(ctx context.Context, cfg config.Token, log hclog.Logger, opts Options) (Tokens, error) {
	s, err := token.Open(ctx, token.Config{
		Secret: string(cfg.Secret), SecretKID: cfg.SecretKID,
		PreviousSecret: string(cfg.PreviousSecret), PreviousSecretKID: cfg.PreviousSecretKID,
		SigningKeyFile: cfg.SigningKeyFile, PublicKeyFiles: cfg.PublicKeyFiles,
		JWKSURL: cfg.JWKSURL, JWKSRefresh: cfg.JWKSRefresh, RequireJWKS: opts.RequireJWKS,
		Algorithms: cfg.Algorithms, Issuer: cfg.Issuer, Audience: cfg.Audience, Lifetime: cfg.Lifetime,
		SubjectClaim: cfg.SubjectClaim, Replay: cfg.ReplayProtection, Used: opts.Used,
	}, log)
	return Tokens{Verifier: s.Verifier, Minter: s.Minter, Keys: s.Keys}, err
}

// NewAuthenticator builds the decision maker of cfg on an open store.
// Background work (JWKS refresh) ends with ctx.
func NewAuthenticator(ctx context.Context, cfg config.Config, store *wikidb.Store, log hclog.Logger, opts Options) (*provider.Authenticator, Tokens, error) {
	tokens, err := OpenTokens(ctx, cfg.Token, log, opts)
	if err != nil {
		return nil, tokens, err
	}
	pc := provider.Config{
		Domains:       cfg.Domains,
		CacheTTL:      cfg.Auth.CacheTTL,
		CacheSize:     cfg.Auth.CacheSize,
		MaxFailures:   cfg.Auth.MaxFailures,
		FailureWindow: cfg.Auth.FailureWindow,
		TokenSubject:  provider.Subject(cfg.Token.Subject),
		Memory:        opts.Memory,
		Failures:      opts.Failures,
		OldPasswords:  opts.OldPasswords,
		OutageGrace:   cfg.Auth.OutageGrace,
	}
	if tokens.Verifier != nil {
		pc.Tokens = tokens.Verifier
	}
	auth, err := provider.New(store, pc)
	return auth, tokens, err
}

// OpenAuthenticator opens the wiki store and builds the decision maker on
// it, for a command that keeps no state across reloads. The caller closes
// the store.
func OpenAuthenticator(ctx context.Context, cfg config.Config, log hclog.Logger) (*provider.Authenticator, *wikidb.Store, Tokens, error) {
	store, err := OpenStore(cfg.Wiki)
	if err != nil {
		return nil, nil, Tokens{}, err
	}
	auth, tokens, err := NewAuthenticator(ctx, cfg, store, log, Options{})
	if err != nil {
		_ = store.Close() // the constructor's error matters more
		return nil, nil, tokens, err
	}
	return auth, store, tokens, nil
}
