package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/MicahParks/jwkset"
)

// Algorithm names this package knows.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// algorithmFor returns the signing algorithm of a key: RS256 for RSA,
// ES256 for P-256, EdDSA for Ed25519, HS256 for a secret.
func algorithmFor(key any) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return RS256, nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	case ed25519.PrivateKey, ed25519.PublicKey:
		return EdDSA, nil
	case []byte:
		return HS256, nil
	}
	return "", fmt.Errorf("unsupported key type %T (want RSA, EC P-256 or Ed25519)", key)
}

// readPEM reads the first PEM block of a file.
func readPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block, nil
}

// LoadPrivateKey reads a PEM private key (PKCS#8, or PKCS#1 RSA, or SEC 1
// EC) from path.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	if _, err := algorithmFor(signer); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return signer, nil
}

// LoadPublicKey reads a PEM public key (PKIX) or certificate from path.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := algorithmFor(key); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// GenerateKey makes a new private key for alg (RS256: RSA 2048, ES256:
// P-256, EdDSA: Ed25519) and returns it PEM-encoded (PKCS#8).
func GenerateKey(alg string) ([]byte, error) {
	var key any
	var err error
	switch alg {
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("cannot generate a key for %q (RS256, ES256 or EdDSA)", alg)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicPEM encodes a public key as PEM (PKIX), the text/plain form that
// chat services such as Omnichannel fetch.
func PublicPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Thumbprint is the RFC 7638 JWK thumbprint of a public key, base64url:
// a key ID that changes whenever the key does.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{})
	if err != nil {
		return "", err
	}
	m := jwk.Marshal()
	// The required members of each key type, in lexicographic order.
	var members any
	switch m.KTY {
	case jwkset.KtyRSA:
		members = struct {
			E   string `json:"e"`
			KTY string `json:"kty"`
			N   string `json:"n"`
		}{m.E, string(m.KTY), m.N}
	case jwkset.KtyEC:
		members = struct {
			CRV string `json:"crv"`
			KTY string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{string(m.CRV), string(m.KTY), m.X, m.Y}
	case jwkset.KtyOKP:
		members = struct {
			CRV string `json:"crv"`
			KTY string `json:"kty"`
			X   string `json:"x"`
		}{string(m.CRV), string(m.KTY), m.X}
	default:
		return "", errors.New("thumbprint: unsupported key type")
	}
	canonical, err := json.Marshal(members)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// AlgorithmOf returns the algorithm a key signs or verifies with: RS256
// for RSA, ES256 for EC P-256, EdDSA for Ed25519, HS256 for a secret.
func AlgorithmOf(key any) (string, error) { return algorithmFor(key) }
