package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"livechat-auth/app"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// runToken mints a sign-in token for the account with a livechat_id, for
// operators and tests, and prints it on stdout. An account the rules
// refuse gets no token: the reason goes to stderr, and the exit code is 1.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("token", stderr)
	lifetime := fs.Duration("lifetime", 0, "token lifetime (default token.lifetime; at most 10m)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "token", err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
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
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "token", err)
	}
	defer closeLog()
	auth, store, tokens, err := app.OpenAuthenticator(ctx, cfg, log)
	if err != nil {
		return fail(stderr, "token", err)
	}
	defer store.Close()
	if tokens.Minter == nil {
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
	raw, exp, err := tokens.Minter.Mint(cfg.Token.SubjectClaim, acct.Subject)
	if err != nil {
		return fail(stderr, "token", err)
	}
	fmt.Fprintln(stdout, raw)
	fmt.Fprintf(stderr, "token for %s, kid %q, expires %s\n", acct.JID, tokens.Minter.KeyID(), exp.UTC().Format("2006-01-02T15:04:05Z"))
	return exitOK
}

// runKeygen writes a new private signing key, readable by its owner only,
// and its public half: to --public-out FILE (mode 0644, the file a chat
// server's config names in token.public_key_files), or else on stdout.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flags("keygen", stderr)
	alg := fs.String("alg", token.RS256, "the signing algorithm `ALG`: RS256, ES256 or EdDSA; or secret: a random secret for token.secret_file, session.key_file, httpauth.secret_file or status.secret_file")
	out := fs.String("out", "", "the `FILE` to write the private key (or secret) to, mode 0600 (must not exist)")
	publicOut := fs.String("public-out", "", "the `FILE` to write the public half to, mode 0644 (must not exist); default: stdout")
	if err := parseInterspersed(fs, args); err != nil {
		return fail(stderr, "keygen", err)
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitError
	}
	if strings.EqualFold(*alg, "secret") {
		if *publicOut != "" {
			return fail(stderr, "keygen", errors.New("--public-out: a secret has no public half (give the same secret to both sides)"))
		}
		if err := token.WriteSecret(*out); err != nil {
			return fail(stderr, "keygen", err)
		}
		fmt.Fprintf(stderr, "wrote %s (64 hex characters, mode 0600; use them as they are, not decoded): name it in token.secret_file, session.key_file, httpauth.secret_file or status.secret_file, and give the same text to the other side\n", *out)
		return exitOK
	}
	pemKey, err := token.GenerateKey(*alg)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	pub, err := token.WriteKeyFiles(*out, pemKey, *publicOut)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	kid, _ := token.Thumbprint(pub) // a key GenerateKey made always has one
	if *publicOut != "" {
		fmt.Fprintf(stderr, "wrote %s (%s, kid %s, mode 0600) and its public key to %s (mode 0644)\n", *out, *alg, kid, *publicOut)
		return exitOK
	}
	pubPEM, err := token.PublicPEM(pub)
	if err != nil {
		return fail(stderr, "keygen", err)
	}
	fmt.Fprintf(stderr, "wrote %s (%s, kid %s); its public key:\n", *out, *alg, kid)
	_, _ = stdout.Write(pubPEM) // nothing to do if stdout is gone
	return exitOK
}
