package config

import (
	"errors"
	"net/url"
	"path/filepath"
	"time"
)

// validateToken checks the token.* settings: algorithms, secrets and
// their kids, the JWKS URL, the lifetime and what the subject names.
func (c *Config) validateToken() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	t := c.Token
	for _, alg := range t.Algorithms {
		switch alg {
		case "HS256", "RS256", "ES256", "EdDSA":
		default:
			bad("token.algorithms", "\""+alg+"\" is not one of HS256, RS256, ES256, EdDSA")
		}
	}
	if t.Secret != "" && len(t.Secret) < 32 {
		bad(fromFile("token.secret", "token.secret_file", t.SecretFile), "shorter than 32 bytes")
	}
	if t.PreviousSecret != "" {
		if len(t.PreviousSecret) < 32 {
			bad("token.previous_secret", "shorter than 32 bytes")
		}
		if t.PreviousSecretKID == "" || t.PreviousSecretKID == t.SecretKID {
			bad("token.previous_secret_kid", "required, and different from token.secret_kid")
		}
	}
	if t.JWKSURL != "" {
		u, err := url.Parse(t.JWKSURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("token.jwks_url", "not an https URL")
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			bad("token.jwks_url", "must be https: keys fetched in the clear could be forged on the way (http only on loopback)")
		}
	}
	if t.JWKSRefresh <= 0 {
		bad("token.jwks_refresh", "must be positive")
	}
	if t.Lifetime <= 0 || t.Lifetime > 10*time.Minute {
		bad("token.lifetime", t.Lifetime.String()+" is not in (0, 10m]")
	}
	if t.SubjectClaim == "" {
		bad("token.subject_claim", "required")
	}
	if t.UsedFile != "" && !filepath.IsAbs(t.UsedFile) {
		bad("token.used_file", "must be an absolute path")
	}
	switch t.Subject {
	case "livechat_id", "login", "user_id":
	default:
		bad("token.subject", "\""+t.Subject+"\" is not livechat_id, login or user_id")
	}
	return errs
}

// mints reports whether a key that can mint tokens is set: a signing
// key or the shared secret.
func (t Token) mints() bool { return t.SigningKeyFile != "" || t.Secret != "" }
