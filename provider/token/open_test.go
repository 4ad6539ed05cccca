package token

import (
	"context"
	"crypto"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// defaultConfig is Config as the default settings make it: no key.
func defaultConfig() Config {
	return Config{JWKSRefresh: 15 * time.Minute, Issuer: "livechat-auth", Audience: "xmpp",
		Lifetime: 5 * time.Minute, SubjectClaim: "sub", Replay: true}
}

// TestOpenTokensJWKS: tokens signed by a key published only as a JWKS
// verify once the JWKS is fetched; others do not.
func TestOpenTokensJWKS(t *testing.T) {
	pemKey, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "wiki.pem")
	if err := os.WriteFile(keyPath, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := NewMinter(MinterConfig{Key: key, Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeySet(map[string]crypto.PublicKey{minter.KeyID(): key.Public()}, minter.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(keys.JWKS())
	defer jwks.Close()

	cfg := defaultConfig()
	cfg.JWKSURL = jwks.URL
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts, err := Open(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if ts.Minter != nil {
		t.Fatal("a JWKS alone must not mint")
	}
	raw, _, err := minter.Mint("sub", "alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ts.Verifier.Verify(ctx, raw)
	if err != nil || c.Subject != "alice" {
		t.Fatalf("JWKS-published key: %+v, %v", c, err)
	}
	other, err := NewMinter(MinterConfig{Key: []byte("an HS256 secret nobody configured here"), KeyID: minter.KeyID(),
		Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := other.Mint("sub", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Verifier.Verify(ctx, forged); !errors.Is(err, ProblemAlgorithm) {
		t.Fatalf("HS256 token against a JWKS-only verifier: %v", err)
	}
}

func TestOpenTokensOff(t *testing.T) {
	ts, err := Open(context.Background(), defaultConfig(), hclog.NewNullLogger())
	if err != nil || ts.Verifier != nil || ts.Minter != nil {
		t.Fatalf("no keys configured: %+v, %v", ts, err)
	}
}

// TestOpenMinter: the signing key mints and is published; without one
// the secret mints and nothing is published; both verify either way.
func TestOpenMinter(t *testing.T) {
	pemKey, err := GenerateKey(EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyPath, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "a shared secret of at least thirty-two bytes"
	for _, tc := range []struct {
		name      string
		keyFile   string
		alg       string
		published bool
	}{
		{"signing key and secret", keyPath, EdDSA, true},
		{"secret alone", "", HS256, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.SigningKeyFile, cfg.Secret, cfg.Replay = tc.keyFile, secret, false
			ts, err := Open(context.Background(), cfg, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			if ts.Minter == nil || ts.Minter.Algorithm() != tc.alg {
				t.Fatalf("minter %+v; want %s", ts.Minter, tc.alg)
			}
			if (ts.Keys != nil) != tc.published {
				t.Errorf("keys published: %v; want %v", ts.Keys != nil, tc.published)
			}
			hs, err := NewMinter(MinterConfig{Key: []byte(secret), Issuer: cfg.Issuer, Audience: cfg.Audience})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*Minter{ts.Minter, hs} {
				raw, _, err := m.Mint(cfg.SubjectClaim, "alice")
				if err != nil {
					t.Fatal(err)
				}
				if c, err := ts.Verifier.Verify(context.Background(), raw); err != nil || c.Subject != "alice" {
					t.Errorf("%s token: %+v, %v", m.Algorithm(), c, err)
				}
			}
		})
	}
	cfg := defaultConfig()
	cfg.SigningKeyFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := Open(context.Background(), cfg, hclog.NewNullLogger()); err == nil {
		t.Error("a missing signing key file: no error")
	}
}
