package token

import (
	"context"
	"crypto"
	"net/http"

	"github.com/MicahParks/jwkset"
)

// KeySet publishes public keys: as a JWKS (application/json) and, for the
// first key, as PEM text (text/plain), the two forms chat services fetch.
type KeySet struct {
	jwks []byte
	pem  []byte
}

// NewKeySet builds the published forms of keys (kid → public key); first
// names the key published as PEM.
func NewKeySet(keys map[string]crypto.PublicKey, first string) (*KeySet, error) {
	store := jwkset.NewMemoryStorage()
	ctx := context.Background()
	for kid, pub := range keys {
		alg, err := algorithmFor(pub)
		if err != nil {
			return nil, err
		}
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: kid, ALG: jwkset.ALG(alg), USE: jwkset.UseSig}})
		if err != nil {
			return nil, err
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			return nil, err
		}
	}
	jwks, err := store.JSONPublic(ctx)
	if err != nil {
		return nil, err
	}
	ks := &KeySet{jwks: jwks}
	if pub, ok := keys[first]; ok {
		if ks.pem, err = PublicPEM(pub); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// JWKS serves the key set as JSON.
func (k *KeySet) JWKS() http.Handler {
	return publish("application/json", k.jwks)
}

// PEM serves the signing key's public half as text/plain PEM.
func (k *KeySet) PEM() http.Handler {
	return publish("text/plain; charset=utf-8", k.pem)
}

func publish(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		if len(body) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body) // the client went away: nothing to do
	})
}
