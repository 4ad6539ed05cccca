package token

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinterConfig configures a Minter.
type MinterConfig struct {
	Key      any              // a crypto.Signer (RSA, EC P-256, Ed25519) or an HS256 secret ([]byte)
	KeyID    string           // kid; default for a key pair: its RFC 7638 thumbprint
	Issuer   string           // iss, when set
	Audience string           // aud, when set
	Lifetime time.Duration    // exp - iat (default 5m, at most 10m)
	Now      func() time.Time // the clock; nil: time.Now
}

// Minter signs tokens. It is safe for concurrent use.
type Minter struct {
	cfg    MinterConfig
	method jwt.SigningMethod
	now    func() time.Time
}

// NewMinter checks cfg and returns a Minter.
func NewMinter(cfg MinterConfig) (*Minter, error) {
	alg, err := algorithmFor(cfg.Key)
	if err != nil {
		return nil, err
	}
	if s, ok := cfg.Key.([]byte); ok && len(s) < 32 {
		return nil, errors.New("token: HS256 secret shorter than 32 bytes")
	}
	if cfg.KeyID == "" {
		if signer, ok := cfg.Key.(crypto.Signer); ok {
			if cfg.KeyID, err = Thumbprint(signer.Public()); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 5 * time.Minute
	}
	if cfg.Lifetime > MaxLifetime {
		return nil, errors.New("token: lifetime over 10m")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Minter{cfg: cfg, method: jwt.GetSigningMethod(alg), now: now}, nil
}

// Algorithm is the algorithm of minted tokens.
func (m *Minter) Algorithm() string { return m.method.Alg() }

// KeyID is the kid of minted tokens.
func (m *Minter) KeyID() string { return m.cfg.KeyID }

// PublicKey returns the public half of the signing key, or nil for a
// secret.
func (m *Minter) PublicKey() crypto.PublicKey {
	if s, ok := m.cfg.Key.(crypto.Signer); ok {
		return s.Public()
	}
	return nil
}

// Mint signs a token for subject, under the claim name given (normally
// "sub"), with a fresh jti, and returns it with its expiry.
func (m *Minter) Mint(subjectClaim, subject string) (string, time.Time, error) {
	now := m.now().Truncate(time.Second)
	exp := now.Add(m.cfg.Lifetime)
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", time.Time{}, err
	}
	claims := jwt.MapClaims{
		subjectClaim: subject,
		"iat":        now.Unix(),
		"nbf":        now.Unix(),
		"exp":        exp.Unix(),
		"jti":        base64.RawURLEncoding.EncodeToString(id),
	}
	if m.cfg.Issuer != "" {
		claims["iss"] = m.cfg.Issuer
	}
	if m.cfg.Audience != "" {
		claims["aud"] = m.cfg.Audience
	}
	t := jwt.NewWithClaims(m.method, claims)
	if m.cfg.KeyID != "" {
		t.Header["kid"] = m.cfg.KeyID
	}
	raw, err := t.SignedString(m.cfg.Key)
	return raw, exp, err
}
