package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// runToken mints a sign-in token for the account with a livechat_id, for
// operators and tests, and prints it on stdout. An account the rules
// refuse gets no token: the reason goes to stderr, and the exit code is 1.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lifetime := fs.Duration("lifetime", 0, "token lifetime (default token.lifetime; at most 10m)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "token", err)
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: livechat-auth token [--config FILE] [--lifetime D] livechat_id")
		return exitError
	}
	lifetimeSet := false
	fs.Visit(func(f *flag.Flag) { lifetimeSet = lifetimeSet || f.Name == "lifetime" })
	switch {
	case lifetimeSet && *lifetime <= 0:
		fmt.Fprintf(stderr, "livechat-auth token: --lifetime: %s is not a positive duration\n", *lifetime)
		return exitError
	case *lifetime > token.MaxLifetime:
		fmt.Fprintf(stderr, "livechat-auth token: --lifetime: %s is over the %s limit\n", *lifetime, token.MaxLifetime)
		return exitError
	case lifetimeSet:
		cfg.Token.Lifetime = *lifetime
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "token", err)
	}
	defer closeLog()
	auth, store, tokens, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		return fail(stderr, "token", err)
	}
	defer store.Close()
	if tokens.minter == nil {
		fmt.Fprintln(stderr, "livechat-auth token: no key to mint with: set token.signing_key_file or token.secret")
		return exitError
	}
	acct, err := auth.Resolve(ctx, provider.Lookup{Name: fs.Arg(0)})
	var reason provider.Reason
	switch {
	case errors.As(err, &reason):
		hint := ""
		if reason == provider.ReasonUnmigrated {
			hint = ": the wiki account has no livechat_id yet (see livechat-auth ids)"
		}
		fmt.Fprintf(stderr, "livechat-auth token: %q: refused: %s%s\n", fs.Arg(0), string(reason), hint)
		return exitRefused
	case err != nil:
		return fail(stderr, "token", err)
	}
	raw, exp, err := tokens.minter.Mint(cfg.Token.SubjectClaim, acct.Subject)
	if err != nil {
		return fail(stderr, "token", err)
	}
	fmt.Fprintln(stdout, raw)
	fmt.Fprintf(stderr, "token for %s, kid %q, expires %s\n", acct.JID, tokens.minter.KeyID(), exp.UTC().Format("2006-01-02T15:04:05Z"))
	return exitOK
}

// runKeygen writes a new private signing key and prints its public half.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("alg", token.RS256, "RS256, ES256 or EdDSA; or secret: a random secret for token.secret_file, session.key_file, httpauth.secret_file or status.secret_file")
	out := fs.String("out", "", "file to write the private key (or secret) to (must not exist)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: livechat-auth keygen [--alg RS256|ES256|EdDSA] --out FILE    a token signing key (its public half on stdout)\n       livechat-auth keygen --alg secret --out FILE              a secret: 32 random bytes as 64 hex digits")
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		return fail(stderr, "keygen", err)
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitError
	}
	if strings.EqualFold(*alg, "secret") {
		return writeSecret(*out, stderr)
	}
	pemKey, err := token.GenerateKey(*alg)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	_, werr := f.Write(pemKey)
	if err := errors.Join(werr, f.Close()); err != nil {
		fmt.Fprintln(stderr, "livechat-auth keygen:", err)
		return exitError
	}
	key, err := token.LoadPrivateKey(*out)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	pub, err := token.PublicPEM(key.Public())
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	kid, _ := token.Thumbprint(key.Public()) // a key GenerateKey made always has one
	fmt.Fprintf(stderr, "wrote %s (%s, kid %s); its public key:\n", *out, *alg, kid)
	_, _ = stdout.Write(pub) // nothing to do if stdout is gone
	return exitOK
}

// writeSecret writes 32 random bytes as hex to a new file, readable by its
// owner only: a token.secret, session.key, httpauth.secret or
// status.secret, all at least this long.
func writeSecret(path string, stderr io.Writer) int {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(b[:]) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return fail(stderr, "keygen", err)
	}
	fmt.Fprintf(stderr, "wrote %s (64 hex characters, mode 0600; use them as they are, not decoded): name it in token.secret_file, session.key_file, httpauth.secret_file or status.secret_file, and give the same text to the other side\n", path)
	return exitOK
}
