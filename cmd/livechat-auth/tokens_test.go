package main

import (
	"context"
	"crypto"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider/token"
)

// TestOpenTokensJWKS: tokens signed by a key published only as a JWKS
// verify once the JWKS is fetched; others do not.
func TestOpenTokensJWKS(t *testing.T) {
	pemKey, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "wiki.pem")
	if err := os.WriteFile(keyPath, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := token.LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := token.NewMinter(token.MinterConfig{Key: key, Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet(map[string]crypto.PublicKey{minter.KeyID(): key.Public()}, minter.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(keys.JWKS())
	defer jwks.Close()

	cfg := config.Default().Token
	cfg.JWKSURL = jwks.URL
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts, err := openTokens(ctx, cfg, hclog.NewNullLogger(), buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ts.minter != nil {
		t.Fatal("a JWKS alone must not mint")
	}
	raw, _, err := minter.Mint("sub", "alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ts.verifier.Verify(ctx, raw)
	if err != nil || c.Subject != "alice" {
		t.Fatalf("JWKS-published key: %+v, %v", c, err)
	}
	other, err := token.NewMinter(token.MinterConfig{Key: []byte("an HS256 secret nobody configured here"), KeyID: minter.KeyID(),
		Issuer: "livechat-auth", Audience: "xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := other.Mint("sub", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.verifier.Verify(ctx, forged); !errors.Is(err, token.ProblemAlgorithm) {
		t.Fatalf("HS256 token against a JWKS-only verifier: %v", err)
	}
}

func TestOpenTokensOff(t *testing.T) {
	ts, err := openTokens(context.Background(), config.Default().Token, hclog.NewNullLogger(), buildOptions{})
	if err != nil || ts.verifier != nil || ts.minter != nil {
		t.Fatalf("no keys configured: %+v, %v", ts, err)
	}
}
