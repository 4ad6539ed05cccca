package token

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Limits from the token rules: no token lives longer than MaxLifetime, and
// iat must be within IssuedAtSkew of the verifier's clock.
const (
	MaxLifetime  = 10 * time.Minute
	IssuedAtSkew = 2 * time.Minute
)

// RemoteKeys supplies keys fetched from a JWKS URL; keyfunc.Keyfunc
// (github.com/MicahParks/keyfunc) implements it.
type RemoteKeys interface {
	KeyfuncCtx(ctx context.Context) jwt.Keyfunc
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Algorithms   []string                    // allowed algorithms (HS256, RS256, ES256, EdDSA); required
	Secrets      map[string][]byte           // HS256 secrets by kid; "" serves tokens without kid
	PublicKeys   map[string]crypto.PublicKey // public keys by kid; "" serves tokens without kid
	Remote       RemoteKeys                  // keys from a JWKS URL; optional
	Issuer       string                      // required iss when set
	Audience     string                      // required in aud when set
	SubjectClaim string                      // claim naming the account (default "sub")
	MaxLifetime  time.Duration               // exp - iat at most this (default and limit: 10m)
	Replay       bool                        // one sign-in per jti (tokens without jti refused)
	Used         UsedRecord                  // the record of used jtis; share one across reloads (default: a new UsedTokens)
	Now          func() time.Time            // the clock; nil: time.Now
}

// Claims is what a verified token says.
type Claims struct {
	Subject   string // the SubjectClaim's value
	ID        string // jti
	KeyID     string // kid
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    VerifierConfig
	parser *jwt.Parser
	allow  map[string]bool
	now    func() time.Time

	used UsedRecord
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("token: no algorithms allowed")
	}
	allow := make(map[string]bool)
	for _, alg := range cfg.Algorithms {
		switch alg {
		case HS256, RS256, ES256, EdDSA:
			allow[alg] = true
		default:
			return nil, fmt.Errorf("token: algorithm %q is not one of HS256, RS256, ES256, EdDSA", alg)
		}
	}
	if allow[HS256] && len(cfg.Secrets) == 0 {
		return nil, errors.New("token: HS256 allowed but no secret configured")
	}
	for kid, s := range cfg.Secrets {
		if len(s) < 32 {
			return nil, fmt.Errorf("token: HS256 secret %q is shorter than 32 bytes", kid)
		}
	}
	if (allow[RS256] || allow[ES256] || allow[EdDSA]) && len(cfg.PublicKeys) == 0 && cfg.Remote == nil {
		return nil, errors.New("token: public-key algorithm allowed but no public key or JWKS configured")
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.MaxLifetime <= 0 || cfg.MaxLifetime > MaxLifetime {
		cfg.MaxLifetime = MaxLifetime
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithTimeFunc(now),
		jwt.WithJSONNumber(),
	}
	used := cfg.Used
	if used == nil {
		used = NewUsedTokens()
	}
	return &Verifier{cfg: cfg, parser: jwt.NewParser(opts...), allow: allow, now: now, used: used}, nil
}

// LooksLikeToken reports whether a password is shaped like a JWT (three
// base64url parts, a JSON header), so that it is checked as a token and
// never handed to bcrypt, which would read only its first 72 bytes.
func LooksLikeToken(s string) bool {
	if !strings.HasPrefix(s, "eyJ") || strings.Count(s, ".") != 2 || len(s) < 20 {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Verify checks a token's signature and claims. It returns a Problem when
// the token is refused. It does not mark the token used: see Consume.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeHeader(raw, &header); err != nil {
		return Claims{}, ProblemMalformed
	}
	if !v.allow[header.Alg] {
		return Claims{}, ProblemAlgorithm
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc(ctx))
	if err != nil {
		return Claims{}, problemOf(err)
	}
	if err := v.checkIssuerAudience(claims); err != nil {
		return Claims{}, err
	}
	c := Claims{KeyID: header.Kid}
	if c.Subject, err = claimString(claims, v.cfg.SubjectClaim); err != nil || c.Subject == "" {
		return Claims{}, ProblemSubject
	}
	if c.ID, err = claimString(claims, "jti"); err != nil {
		return Claims{}, ProblemMalformed
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return Claims{}, ProblemIssuedAt
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return Claims{}, ProblemExpired
	}
	c.IssuedAt, c.ExpiresAt = iat.Time, exp.Time
	if d := v.now().Sub(c.IssuedAt); d > IssuedAtSkew || d < -IssuedAtSkew {
		return Claims{}, ProblemIssuedAt
	}
	if c.ExpiresAt.Sub(c.IssuedAt) > v.cfg.MaxLifetime {
		return Claims{}, ProblemLifetime
	}
	return c, nil
}

// checkIssuerAudience applies the configured iss and aud, present or not.
func (v *Verifier) checkIssuerAudience(claims jwt.MapClaims) error {
	if v.cfg.Issuer != "" {
		if iss, err := claims.GetIssuer(); err != nil || iss != v.cfg.Issuer {
			return ProblemIssuer
		}
	}
	if v.cfg.Audience != "" {
		if aud, err := claims.GetAudience(); err != nil || !slices.Contains(aud, v.cfg.Audience) {
			return ProblemAudience
		}
	}
	return nil
}

// Consume marks the token's jti used, when replay protection is on, and
// refuses one already used with ProblemReplayed. It remembers a jti until
// the token expires. Any other error is the record failing to answer; the
// token is refused then too.
func (v *Verifier) Consume(ctx context.Context, c Claims) error {
	if !v.cfg.Replay {
		return nil
	}
	if c.ID == "" {
		return ProblemReplayed
	}
	err := v.used.Use(ctx, c.ID, c.IssuedAt, c.ExpiresAt, v.now())
	if errors.Is(err, ErrUsed) {
		return ProblemReplayed
	}
	return err
}

// keyfunc selects the key: HS256 only from the secrets, the public-key
// algorithms only from public keys of the matching type.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		kid, _ := t.Header["kid"].(string)
		if alg == HS256 {
			if s, ok := pick(v.cfg.Secrets, kid); ok {
				return s, nil
			}
			return nil, ProblemUnknownKey
		}
		if k, ok := pick(v.cfg.PublicKeys, kid); ok {
			if got, _ := algorithmFor(k); got == alg {
				return k, nil
			}
		}
		if v.cfg.Remote != nil && kid != "" {
			k, err := v.cfg.Remote.KeyfuncCtx(ctx)(t)
			if got, _ := algorithmFor(k); err == nil && got == alg {
				return k, nil
			}
		}
		return nil, ProblemUnknownKey
	}
}

// pick returns the key for kid; a token without kid gets the only key.
func pick[K any](keys map[string]K, kid string) (K, bool) {
	if k, ok := keys[kid]; ok {
		return k, true
	}
	var zero K
	if kid == "" && len(keys) == 1 {
		for _, k := range keys {
			return k, true
		}
	}
	return zero, false
}

// problemOf maps the JWT library's errors to Problems.
func problemOf(err error) error {
	var p Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ProblemMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ProblemSignature
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ProblemNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ProblemIssuedAt
	case errors.Is(err, jwt.ErrTokenExpired):
		return ProblemExpired
	}
	return ProblemMalformed
}

func decodeHeader(raw string, into any) error {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return errors.New("no header")
	}
	data, err := jwt.NewParser().DecodeSegment(head)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

// claimString reads a claim that may be a string or an integer (a
// numeric user id); absent is "".
func claimString(claims jwt.MapClaims, name string) (string, error) {
	switch v := claims[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
	case float64:
		if v == math.Trunc(v) {
			return strconv.FormatFloat(v, 'f', 0, 64), nil
		}
	}
	return "", fmt.Errorf("claim %s is not a string or an integer", name)
}
