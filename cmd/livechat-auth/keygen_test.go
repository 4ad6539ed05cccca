package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider/token"
)

// TestKeygenPublicOut: --public-out writes the public half, mode 0644
// under a umask that would take the other users' read bit away, beside a
// private key of mode 0600; a config naming only the public file (what
// the chat server's extauth reads) verifies a token the private key
// signed.
func TestKeygenPublicOut(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	for _, alg := range []string{token.RS256, token.ES256, token.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
			var stdout, stderr bytes.Buffer
			if code := runKeygen([]string{"--alg", alg, "--out", priv, "--public-out", pub}, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("with --public-out, stdout holds %q; want nothing", stdout.String())
			}
			for path, want := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s: mode %04o; want %04o", filepath.Base(path), fi.Mode().Perm(), want)
				}
			}
			if data, _ := os.ReadFile(pub); bytes.Contains(data, []byte("PRIVATE")) {
				t.Fatalf("the public file holds a private key:\n%s", data)
			}

			key, err := token.LoadPrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			cfg := config.Default().Token
			minter, err := token.NewMinter(token.MinterConfig{Key: key, Issuer: cfg.Issuer, Audience: cfg.Audience, Lifetime: cfg.Lifetime})
			if err != nil {
				t.Fatal(err)
			}
			raw, _, err := minter.Mint(cfg.SubjectClaim, "alice")
			if err != nil {
				t.Fatal(err)
			}
			cfg.PublicKeyFiles = []string{pub}
			ts, err := app.OpenTokens(context.Background(), cfg, hclog.NewNullLogger(), app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ts.Minter != nil {
				t.Error("a public key alone can mint")
			}
			if c, err := ts.Verifier.Verify(context.Background(), raw); err != nil || c.Subject != "alice" {
				t.Errorf("the public file does not verify the private key's token: %+v, %v", c, err)
			}
		})
	}
}

// TestKeygenOutputs: without --public-out the public half goes to stdout
// as before; an existing --public-out file, or one asked of a secret,
// stops keygen with no private key left behind.
func TestKeygenOutputs(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := runKeygen([]string{"--alg", "ES256", "--out", filepath.Join(dir, "a.pem")}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("stdout without --public-out: %q", stdout.String())
	}

	taken := filepath.Join(dir, "taken.pub.pem")
	if err := os.WriteFile(taken, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"existing public file": {"--alg", "ES256", "--out", filepath.Join(dir, "b.pem"), "--public-out", taken},
		"the same file twice":  {"--alg", "ES256", "--out", filepath.Join(dir, "c.pem"), "--public-out", filepath.Join(dir, "c.pem")},
		"a secret":             {"--alg", "secret", "--out", filepath.Join(dir, "d.key"), "--public-out", filepath.Join(dir, "d.pub")},
	} {
		t.Run(name, func(t *testing.T) {
			stderr.Reset()
			if code := runKeygen(args, &stdout, &stderr); code != exitError {
				t.Fatalf("exit %d; want %d", code, exitError)
			}
			if !strings.Contains(stderr.String(), "--public-out") {
				t.Errorf("the error does not name --public-out: %s", stderr.String())
			}
			if _, err := os.Stat(args[3]); !os.IsNotExist(err) {
				t.Errorf("%s left behind (%v)", filepath.Base(args[3]), err)
			}
		})
	}
	if data, _ := os.ReadFile(taken); string(data) != "keep me" {
		t.Errorf("the existing public file was changed: %q", data)
	}
}
