package main

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// jwksTimeout bounds one fetch of a JWKS.
const jwksTimeout = 10 * time.Second

// tokenSetup is everything built from the token settings. Its fields are
// nil when tokens are off; minter and keys are nil when nothing can mint.
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

// openTokens loads the keys named in the settings. A JWKS is fetched and
// refreshed in the background until ctx ends. Errors name the setting and
// its file or URL.
func openTokens(ctx context.Context, cfg config.Token, log hclog.Logger, opts buildOptions) (tokenSetup, error) {
	var ts tokenSetup
	if !cfg.Enabled() {
		return ts, nil
	}
	secrets := map[string][]byte{}
	publics := map[string]crypto.PublicKey{}
	var algs []string
	addAlg := func(alg string) {
		if !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	mc := token.MinterConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Lifetime: cfg.Lifetime}
	if cfg.SigningKeyFile != "" {
		key, err := token.LoadPrivateKey(cfg.SigningKeyFile)
		if err != nil {
			return ts, fmt.Errorf("token.signing_key_file: %w", err)
		}
		mc.Key = key
	}
	if cfg.Secret != "" {
		secrets[cfg.SecretKID] = []byte(cfg.Secret)
		addAlg(token.HS256)
		if mc.Key == nil {
			mc.Key, mc.KeyID = []byte(cfg.Secret), cfg.SecretKID
		}
	}
	if cfg.PreviousSecret != "" {
		secrets[cfg.PreviousSecretKID] = []byte(cfg.PreviousSecret)
		addAlg(token.HS256)
	}
	if mc.Key != nil {
		m, err := token.NewMinter(mc)
		if err != nil {
			return ts, fmt.Errorf("token: %w", err)
		}
		ts.minter = m
		if pub := m.PublicKey(); pub != nil {
			publics[m.KeyID()] = pub
			addAlg(m.Algorithm())
			if ts.keys, err = token.NewKeySet(map[string]crypto.PublicKey{m.KeyID(): pub}, m.KeyID()); err != nil {
				return ts, fmt.Errorf("token: publish keys: %w", err)
			}
		}
	}
	for _, f := range cfg.PublicKeyFiles {
		pub, err := token.LoadPublicKey(f)
		if err != nil {
			return ts, fmt.Errorf("token.public_key_files: %w", err)
		}
		kid, err := token.Thumbprint(pub)
		if err != nil {
			return ts, fmt.Errorf("token.public_key_files: %s: %w", f, err)
		}
		publics[kid] = pub
		alg, _ := token.AlgorithmOf(pub) // LoadPublicKey accepted it, so it has one
		addAlg(alg)
	}
	vc := token.VerifierConfig{Secrets: secrets, PublicKeys: publics, Issuer: cfg.Issuer, Audience: cfg.Audience,
		SubjectClaim: cfg.SubjectClaim, Replay: cfg.ReplayProtection, Used: opts.used}
	if cfg.JWKSURL != "" {
		noError := !opts.requireJWKS
		remote, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			RefreshInterval:           cfg.JWKSRefresh,
			HTTPTimeout:               jwksTimeout,
			NoErrorReturnFirstHTTPReq: &noError,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(_ context.Context, err error) { log.Warn("JWKS refresh failed", "url", u, "error", err) }
			},
		})
		if err != nil {
			return ts, fmt.Errorf("token.jwks_url: %s: %w", cfg.JWKSURL, err)
		}
		vc.Remote = remote
		for _, alg := range []string{token.RS256, token.ES256, token.EdDSA} {
			addAlg(alg)
		}
	}
	vc.Algorithms = algs
	if len(cfg.Algorithms) > 0 {
		vc.Algorithms = cfg.Algorithms
	}
	v, err := token.NewVerifier(vc)
	if err != nil {
		return ts, fmt.Errorf("token: %w", err)
	}
	ts.verifier = v
	return ts, nil
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
