package token

import (
	"context"
	"crypto"
	"fmt"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/hashicorp/go-hclog"
)

// jwksTimeout bounds one fetch of a JWKS.
const jwksTimeout = 10 * time.Second

// Config names the keys Open loads and the rules of the tokens they
// verify and mint: the token.* settings, as plain values.
type Config struct {
	// Secret (token.secret) is an HS256 secret under the kid SecretKID;
	// it also mints when there is no SigningKeyFile.
	Secret, SecretKID string
	// PreviousSecret (token.previous_secret) is an older HS256 secret,
	// still accepted under PreviousSecretKID during a rotation.
	PreviousSecret, PreviousSecretKID string
	// SigningKeyFile (token.signing_key_file) is a PEM private key that
	// mints; its public half verifies and is published.
	SigningKeyFile string
	// PublicKeyFiles (token.public_key_files) are PEM public keys of other
	// minters, each under its RFC 7638 thumbprint as kid.
	PublicKeyFiles []string
	// JWKSURL (token.jwks_url) is a JWKS fetched and then refreshed every
	// JWKSRefresh in the background.
	JWKSURL     string
	JWKSRefresh time.Duration
	// RequireJWKS makes a JWKS that cannot be fetched now an error.
	// Otherwise the failure is logged and the JWKS fetched again in the
	// background (extauth must start regardless).
	RequireJWKS bool
	// Algorithms are those accepted; empty: those of the keys.
	Algorithms []string
	// Issuer and Audience are the iss and aud of minted tokens, required
	// of every token.
	Issuer, Audience string
	// Lifetime is the lifetime of minted tokens.
	Lifetime time.Duration
	// SubjectClaim is the claim naming the account.
	SubjectClaim string
	// Replay makes a token good for one sign-in per jti, recorded in Used
	// (nil: a record of its own, in memory).
	Replay bool
	Used   UsedRecord
}

// enabled reports whether any key is named.
func (c Config) enabled() bool {
	return c.SigningKeyFile != "" || c.Secret != "" || c.PreviousSecret != "" ||
		len(c.PublicKeyFiles) > 0 || c.JWKSURL != ""
}

// Setup is everything Open builds. Its fields are nil when no key is
// named; Minter and Keys are nil when nothing can mint (Keys also when
// the minter is an HS256 secret, which is never published).
type Setup struct {
	Verifier *Verifier
	Minter   *Minter
	Keys     *KeySet
}

// Open loads the keys cfg names and builds the verifier, the minter and
// the published keys. A JWKS is fetched and refreshed in the background
// until ctx ends; its refresh failures are logged to log. Errors name the
// setting (token.signing_key_file, …) and its file or URL.
func Open(ctx context.Context, cfg Config, log hclog.Logger) (Setup, error) {
	var s Setup
	if !cfg.enabled() {
		return s, nil
	}
	k := keys{secrets: map[string][]byte{}, publics: map[string]crypto.PublicKey{}}
	var err error
	if s.Minter, s.Keys, err = k.addMinter(cfg); err != nil {
		return Setup{}, err
	}
	if err := k.addPublicKeyFiles(cfg.PublicKeyFiles); err != nil {
		return Setup{}, err
	}
	vc := VerifierConfig{Secrets: k.secrets, PublicKeys: k.publics, Issuer: cfg.Issuer, Audience: cfg.Audience,
		SubjectClaim: cfg.SubjectClaim, Replay: cfg.Replay, Used: cfg.Used}
	if cfg.JWKSURL != "" {
		if vc.Remote, err = openJWKS(ctx, cfg, log); err != nil {
			return Setup{}, err
		}
		for _, alg := range []string{RS256, ES256, EdDSA} {
			k.addAlg(alg)
		}
	}
	vc.Algorithms = k.algs
	if len(cfg.Algorithms) > 0 {
		vc.Algorithms = cfg.Algorithms
	}
	if s.Verifier, err = NewVerifier(vc); err != nil {
		return Setup{}, fmt.Errorf("token: %w", err)
	}
	return s, nil
}

// keys are the verifying keys gathered so far, and their algorithms in
// the order met.
type keys struct {
	secrets map[string][]byte
	publics map[string]crypto.PublicKey
	algs    []string
}

func (k *keys) addAlg(alg string) {
	if !slices.Contains(k.algs, alg) {
		k.algs = append(k.algs, alg)
	}
}

// addMinter adds the secrets, and builds the minter: the signing key, or
// else the secret. A signing key's public half verifies too, and is
// published.
func (k *keys) addMinter(cfg Config) (*Minter, *KeySet, error) {
	mc := MinterConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Lifetime: cfg.Lifetime}
	if cfg.SigningKeyFile != "" {
		key, err := LoadPrivateKey(cfg.SigningKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("token.signing_key_file: %w", err)
		}
		mc.Key = key
	}
	if cfg.Secret != "" {
		k.secrets[cfg.SecretKID] = []byte(cfg.Secret)
		k.addAlg(HS256)
		if mc.Key == nil {
			mc.Key, mc.KeyID = []byte(cfg.Secret), cfg.SecretKID
		}
	}
	if cfg.PreviousSecret != "" {
		k.secrets[cfg.PreviousSecretKID] = []byte(cfg.PreviousSecret)
		k.addAlg(HS256)
	}
	if mc.Key == nil {
		return nil, nil, nil
	}
	m, err := NewMinter(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("token: %w", err)
	}
	pub := m.PublicKey()
	if pub == nil {
		return m, nil, nil
	}
	k.publics[m.KeyID()] = pub
	k.addAlg(m.Algorithm())
	published, err := NewKeySet(map[string]crypto.PublicKey{m.KeyID(): pub}, m.KeyID())
	if err != nil {
		return nil, nil, fmt.Errorf("token: publish keys: %w", err)
	}
	return m, published, nil
}

// addPublicKeyFiles adds the public keys of other minters, each under
// its thumbprint.
func (k *keys) addPublicKeyFiles(files []string) error {
	for _, f := range files {
		pub, err := LoadPublicKey(f)
		if err != nil {
			return fmt.Errorf("token.public_key_files: %w", err)
		}
		kid, err := Thumbprint(pub)
		if err != nil {
			return fmt.Errorf("token.public_key_files: %s: %w", f, err)
		}
		k.publics[kid] = pub
		alg, _ := AlgorithmOf(pub) // LoadPublicKey accepted it, so it has one
		k.addAlg(alg)
	}
	return nil
}

// openJWKS fetches the JWKS and keeps refreshing it until ctx ends.
func openJWKS(ctx context.Context, cfg Config, log hclog.Logger) (RemoteKeys, error) {
	noError := !cfg.RequireJWKS
	remote, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		RefreshInterval:           cfg.JWKSRefresh,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &noError,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) { log.Warn("JWKS refresh failed", "url", u, "error", err) }
		},
	})
	if err != nil {
		return nil, fmt.Errorf("token.jwks_url: %s: %w", cfg.JWKSURL, err)
	}
	return remote, nil
}
