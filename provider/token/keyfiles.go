package token

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
)

// WriteKeyFiles writes a private key (PEM) to a new file at path, mode
// 0600, and, when pubPath is set, its public half to a new file there,
// mode 0644 whatever the umask; it returns the public key. Both files are
// made before either is written, so that an existing one stops it with
// nothing written; on any error neither is left behind.
func WriteKeyFiles(path string, private []byte, pubPath string) (pub crypto.PublicKey, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	var p *os.File
	if pubPath != "" {
		if p, err = os.OpenFile(pubPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			f.Close()
			os.Remove(path) // made empty just above
			return nil, fmt.Errorf("--public-out: %w", err)
		}
		defer p.Close() // a second Close after the one below does nothing
	}
	defer func() {
		if err != nil {
			os.Remove(path)
			if p != nil {
				os.Remove(pubPath)
			}
		}
	}()
	_, werr := f.Write(private)
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, err
	}
	key, err := LoadPrivateKey(path) // read back: what serve will load
	if err != nil {
		return nil, err
	}
	if p == nil {
		return key.Public(), nil
	}
	pubPEM, err := PublicPEM(key.Public())
	if err != nil {
		return nil, err
	}
	// The umask may have taken bits off 0644: the chat server's user, in
	// no group of the key's, must read it.
	_, werr = p.Write(pubPEM)
	if err := errors.Join(werr, p.Chmod(0o644), p.Close()); err != nil {
		return nil, fmt.Errorf("--public-out: %w", err)
	}
	return key.Public(), nil
}

// WriteSecret writes 32 random bytes as 64 hex digits to a new file at
// path, readable by its owner only: a token.secret, session.key,
// httpauth.secret or status.secret, all at least this long, used as
// written.
func WriteSecret(path string) error {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(hex.EncodeToString(b[:]) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
