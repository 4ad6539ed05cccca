package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testNow     = time.Unix(1800000000, 0)
	testSecret  = []byte("0123456789abcdef0123456789abcdef-secret")
	rsaKey      = mustRSA()
	ecKey, _    = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ = ed25519.GenerateKey(rand.Reader)
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func testVerifier(t testing.TB, change func(*VerifierConfig)) *Verifier {
	t.Helper()
	cfg := VerifierConfig{
		Algorithms: []string{HS256, RS256, ES256, EdDSA},
		Secrets:    map[string][]byte{"hs1": testSecret},
		PublicKeys: map[string]crypto.PublicKey{"rs1": rsaKey.Public(), "es1": ecKey.Public(), "ed1": edKey.Public()},
		Issuer:     "tiki",
		Audience:   "chat",
		Replay:     true,
		Now:        func() time.Time { return testNow },
	}
	if change != nil {
		change(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign makes a token with the standard good claims, changed by edit.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, edit func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{
		"sub": "alice", "iss": "tiki", "aud": "chat", "jti": "id-1",
		"iat": testNow.Unix(), "nbf": testNow.Unix(), "exp": testNow.Add(5 * time.Minute).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyAccepts(t *testing.T) {
	v := testVerifier(t, nil)
	tests := map[string]string{
		"HS256": sign(t, jwt.SigningMethodHS256, testSecret, "hs1", nil),
		"RS256": sign(t, jwt.SigningMethodRS256, rsaKey, "rs1", nil),
		"ES256": sign(t, jwt.SigningMethodES256, ecKey, "es1", nil),
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, edKey, "ed1", nil),
		"iat 119s ago, within the skew": sign(t, jwt.SigningMethodHS256, testSecret, "hs1", func(c jwt.MapClaims) {
			c["iat"] = testNow.Add(-119 * time.Second).Unix()
		}),
		"aud as a list": sign(t, jwt.SigningMethodHS256, testSecret, "hs1", func(c jwt.MapClaims) { c["aud"] = []string{"x", "chat"} }),
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if c.Subject != "alice" || c.ID != "id-1" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// TestVerifyAttacks is the attack suite: every token must be refused with
// the reason that names the attack.
func TestVerifyAttacks(t *testing.T) {
	v := testVerifier(t, nil)
	hs := func(edit func(jwt.MapClaims)) string { return sign(t, jwt.SigningMethodHS256, testSecret, "hs1", edit) }
	pubPEM, err := PublicPEM(rsaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	good := hs(nil)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"sub":"admin","iss":"tiki","aud":"chat","jti":"id-1","iat":1800000000,"exp":1800000300}`)) + "." + parts[2]
	tests := []struct {
		name string
		raw  string
		want Problem
	}{
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", nil), ProblemAlgorithm},
		{"HS256 signed with the RSA public key as secret", sign(t, jwt.SigningMethodHS256, pubPEM, "rs1", nil), ProblemUnknownKey},
		{"HS256 signed with the RSA public key, no kid", sign(t, jwt.SigningMethodHS256, pubPEM, "", nil), ProblemSignature},
		{"expired", hs(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Second).Unix() }), ProblemExpired},
		{"no exp", hs(func(c jwt.MapClaims) { delete(c, "exp") }), ProblemExpired},
		{"iat 3 minutes in the future", hs(func(c jwt.MapClaims) {
			c["iat"] = testNow.Add(3 * time.Minute).Unix()
			c["nbf"] = testNow.Unix()
		}), ProblemIssuedAt},
		{"iat 3 minutes ago", hs(func(c jwt.MapClaims) { c["iat"] = testNow.Add(-3 * time.Minute).Unix() }), ProblemIssuedAt},
		{"no iat", hs(func(c jwt.MapClaims) { delete(c, "iat") }), ProblemIssuedAt},
		{"lifetime over 10 minutes", hs(func(c jwt.MapClaims) { c["exp"] = testNow.Add(11 * time.Minute).Unix() }), ProblemLifetime},
		{"nbf in the future", hs(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() }), ProblemNotYetValid},
		{"wrong aud", hs(func(c jwt.MapClaims) { c["aud"] = "other" }), ProblemAudience},
		{"no aud", hs(func(c jwt.MapClaims) { delete(c, "aud") }), ProblemAudience},
		{"wrong iss", hs(func(c jwt.MapClaims) { c["iss"] = "evil" }), ProblemIssuer},
		{"unknown kid", sign(t, jwt.SigningMethodHS256, testSecret, "hs-old", nil), ProblemUnknownKey},
		{"RS256 with an EC key's kid", sign(t, jwt.SigningMethodRS256, rsaKey, "es1", nil), ProblemUnknownKey},
		{"signed by another RSA key", sign(t, jwt.SigningMethodRS256, mustRSA(), "rs1", nil), ProblemSignature},
		{"tampered payload", tampered, ProblemSignature},
		{"no subject", hs(func(c jwt.MapClaims) { delete(c, "sub") }), ProblemSubject},
		{"garbage", "eyJhbGciOiJIUzI1NiJ9.garbage.garbage", ProblemMalformed},
		{"not base64 header", "eyJ!!!.e30.x", ProblemMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyAlgorithmAllowList(t *testing.T) {
	v := testVerifier(t, func(c *VerifierConfig) { c.Algorithms = []string{RS256} })
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "hs1", nil)); !errors.Is(err, ProblemAlgorithm) {
		t.Fatalf("HS256 with only RS256 allowed: %v", err)
	}
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, "rs1", nil)); err != nil {
		t.Fatalf("RS256: %v", err)
	}
}

func TestSecretRotationRevokes(t *testing.T) {
	old := sign(t, jwt.SigningMethodHS256, testSecret, "hs1", nil)
	rotated := testVerifier(t, func(c *VerifierConfig) {
		c.Secrets = map[string][]byte{"hs2": []byte("a brand new secret of at least 32 bytes")}
	})
	if _, err := rotated.Verify(context.Background(), old); !errors.Is(err, ProblemUnknownKey) {
		t.Fatalf("token under the old secret: %v", err)
	}
}

func TestConsumeOncePerJTI(t *testing.T) {
	v := testVerifier(t, nil)
	c, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "hs1", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Consume(context.Background(), c); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := v.Consume(context.Background(), c); !errors.Is(err, ProblemReplayed) {
		t.Fatalf("second use: %v", err)
	}
	noJTI, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "hs1", func(c jwt.MapClaims) { delete(c, "jti") }))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Consume(context.Background(), noJTI); !errors.Is(err, ProblemReplayed) {
		t.Fatalf("no jti with replay protection: %v", err)
	}
	off := testVerifier(t, func(c *VerifierConfig) { c.Replay = false })
	for i := 0; i < 2; i++ {
		if err := off.Consume(context.Background(), c); err != nil {
			t.Fatalf("use %d with replay protection off: %v", i+1, err)
		}
	}
}

func TestSubjectClaim(t *testing.T) {
	v := testVerifier(t, func(c *VerifierConfig) { c.SubjectClaim = "external_id" })
	raw := sign(t, jwt.SigningMethodHS256, testSecret, "hs1", func(c jwt.MapClaims) { c["external_id"] = 42 })
	c, err := v.Verify(context.Background(), raw)
	if err != nil || c.Subject != "42" {
		t.Fatalf("numeric external_id: %+v, %v", c, err)
	}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	for name, key := range map[string]any{"RS256": rsaKey, "ES256": ecKey, "EdDSA": edKey, "HS256": testSecret} {
		t.Run(name, func(t *testing.T) {
			m, err := NewMinter(MinterConfig{Key: key, KeyID: map[bool]string{true: "hs1"}[name == "HS256"],
				Issuer: "tiki", Audience: "chat", Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			raw, exp, err := m.Mint("sub", "alice")
			if err != nil {
				t.Fatal(err)
			}
			if !LooksLikeToken(raw) || !exp.Equal(testNow.Add(5*time.Minute)) {
				t.Fatalf("token %q exp %v", raw, exp)
			}
			v := testVerifier(t, func(c *VerifierConfig) {
				if pub := m.PublicKey(); pub != nil {
					c.PublicKeys = map[string]crypto.PublicKey{m.KeyID(): pub}
				}
			})
			c, err := v.Verify(context.Background(), raw)
			if err != nil || c.Subject != "alice" || c.KeyID != m.KeyID() {
				t.Fatalf("Verify = %+v, %v", c, err)
			}
		})
	}
}

func TestLooksLikeToken(t *testing.T) {
	tests := map[string]bool{
		sign(t, jwt.SigningMethodHS256, testSecret, "hs1", nil): true,
		"alice-pw-1":               false,
		"eyJ.a.b":                  false,
		"eyJhbGciOiJIUzI1NiJ9.e30": false,
		"eyJhbGciOiJIUzI1NiJ9.e30.sig with space": false,
	}
	for s, want := range tests {
		if got := LooksLikeToken(s); got != want {
			t.Errorf("LooksLikeToken(%.20q) = %v", s, got)
		}
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	for name, cfg := range map[string]VerifierConfig{
		"no algorithms":        {},
		"none":                 {Algorithms: []string{"none"}, Secrets: map[string][]byte{"": testSecret}},
		"HS256 without secret": {Algorithms: []string{HS256}},
		"short secret":         {Algorithms: []string{HS256}, Secrets: map[string][]byte{"": []byte("short")}},
		"RS256 without keys":   {Algorithms: []string{RS256}},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := testVerifier(b, func(c *VerifierConfig) { c.Replay = false })
	for name, raw := range map[string]string{
		"HS256": sign(b, jwt.SigningMethodHS256, testSecret, "hs1", nil),
		"RS256": sign(b, jwt.SigningMethodRS256, rsaKey, "rs1", nil),
		"ES256": sign(b, jwt.SigningMethodES256, ecKey, "es1", nil),
		"EdDSA": sign(b, jwt.SigningMethodEdDSA, edKey, "ed1", nil),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
