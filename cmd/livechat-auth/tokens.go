package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// tokenSetup is everything built from the token settings (token.Setup).
// Its fields are nil when tokens are off; minter and keys are nil when
// nothing can mint.
type tokenSetup struct {
	verifier *token.Verifier
	minter   *token.Minter
	keys     *token.KeySet
}

// buildOptions are what a subcommand adds to the settings when it builds
// a decision maker: the state that serve and the daemon keep across
// reloads, and how strict to be about a JWKS.
type buildOptions struct {
	// memory is the failure counts and verified passwords to keep
	// (serve and the daemon keep one across reloads); nil: a fresh one.
	memory *provider.Memory
	// used is the record of used tokens to keep (serve keeps one across
	// reloads); nil: a fresh one.
	used token.UsedRecord
	// failures is where failure counts are kept when not in memory (a
	// shared Redis); nil: in memory.
	failures provider.FailureCounts
	// oldPasswords is where the migration API's proofs are kept when not
	// in memory (a shared Redis); nil: in memory.
	oldPasswords provider.OldPasswords
	// requireJWKS makes a token.jwks_url that cannot be fetched now an
	// error (serve: at start and on reload). Otherwise it is logged and
	// fetched again in the background (extauth must start regardless).
	requireJWKS bool
}

// openTokens loads the keys named in the settings (token.Open). A JWKS
// is fetched and refreshed in the background until ctx ends. Errors name
// the setting and its file or URL.
func openTokens(ctx context.Context, cfg config.Token, log hclog.Logger, opts buildOptions) (tokenSetup, error) {
	s, err := token.Open(ctx, token.Config{
		Secret: string(cfg.Secret), SecretKID: cfg.SecretKID,
		PreviousSecret: string(cfg.PreviousSecret), PreviousSecretKID: cfg.PreviousSecretKID,
		SigningKeyFile: cfg.SigningKeyFile, PublicKeyFiles: cfg.PublicKeyFiles,
		JWKSURL: cfg.JWKSURL, JWKSRefresh: cfg.JWKSRefresh, RequireJWKS: opts.requireJWKS,
		Algorithms: cfg.Algorithms, Issuer: cfg.Issuer, Audience: cfg.Audience, Lifetime: cfg.Lifetime,
		SubjectClaim: cfg.SubjectClaim, Replay: cfg.ReplayProtection, Used: opts.used,
	}, log)
	return tokenSetup{verifier: s.Verifier, minter: s.Minter, keys: s.Keys}, err
}

// openUsedTokens opens the record of used tokens of a daemon answering on
// socket ("" for none): journaled to token.used_file, else to
// $STATE_DIRECTORY/used-tokens (systemd's StateDirectory=, for serve: an
// automatic daemon, one per settings, keeps its own), else to a file
// beside the socket, else (no socket) kept in memory only. The record
// outlives reloads; the caller closes it.
func openUsedTokens(cfg config.Config, socket string, serve bool) (*token.UsedTokens, error) {
	path := cfg.Token.UsedFile
	if d := os.Getenv("STATE_DIRECTORY"); path == "" && d != "" && serve {
		// systemd's StateDirectory= survives restarts, where the
		// RuntimeDirectory= beside the socket does not.
		d, _, _ = strings.Cut(d, ":")
		path = filepath.Join(d, "used-tokens")
	}
	if path == "" && socket != "" {
		path = strings.TrimSuffix(socket, ".sock") + ".used"
	}
	if path == "" {
		return token.NewUsedTokens(), nil
	}
	used, err := token.OpenUsedTokens(path, time.Now())
	if err != nil {
		key := "token.used_file"
		if cfg.Token.UsedFile == "" {
			key = "the record of used tokens (" + path + ", set token.used_file to move it)"
		}
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return used, nil
}
