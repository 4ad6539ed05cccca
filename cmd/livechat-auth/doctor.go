package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/doctor"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/oldaccount"
)

var _ doctor.ChatServer = (*oldaccount.Server)(nil)

// runDoctor checks, in one screen, what the program needs to work when
// the chat server starts it (doctor.Run): the settings, the database and
// its grant and schema, the stored hashes, the daemon's socket, the token
// keys, the shared Redis, and an isuser through the real extauth framing.
// With --as USER (as root) it runs every check as that user, as the chat
// server would, and then checks, as root, that USER can read none of
// serve's secrets named in --config and --serve-config.
// Exit 0: all OK; 1: a warning; 2: a failure.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fset := flags("doctor", stderr)
	cfgPath := fset.String("config", getenv("LIVECHAT_AUTH_CONFIG"), configUsage)
	as := fset.String("as", "", "run the checks as this `USER` (the chat server's, e.g. ejabberd or prosody; needs root); then, unless it is serve's user "+doctor.ServeUser+", FAIL or WARN for each secret of serve's it can read (private signing key, session key, HS256 token secret, status, Redis and room account passwords)")
	serveCfg := fset.String("serve-config", "", "with --as: serve's config `FILE`, whose secrets are checked too (default: only those --config names)")
	probe := fset.String("user", "", "the livechat_id (`NAME`) the isuser check asks about (default: the first migrated account)")
	keepEnv := fset.Bool("keep-env", false, "with --as: keep this shell's environment (LIVECHAT_AUTH_*, TMPDIR, …) instead of a clean one as a chat server starts with")
	if err := parseInterspersed(fset, args); err != nil {
		return fail(stderr, "doctor", err)
	}
	if fset.NArg() > 0 {
		return fail(stderr, "doctor", fmt.Errorf("unexpected argument %q (flags: --config FILE, --as USER, --serve-config FILE, --user NAME)", fset.Arg(0)))
	}
	if *as == "" && *serveCfg != "" {
		return fail(stderr, "doctor", errors.New("--serve-config needs --as USER: the chat server's user, whose reach of serve's secrets is checked"))
	}
	return doctor.Run(ctx, doctor.Config{
		Path: *cfgPath, Probe: *probe, As: *as, ServeConfig: *serveCfg, KeepEnv: *keepEnv,
		Version: app.ReadBuild().Version, Getenv: getenv, Environ: os.Environ(), Program: programPath,
		DaemonSocket: func() (string, error) { return app.AutoSocket(*cfgPath, getenv) },
		Tokens:       doctorTokens,
		Chat:         doctorChat,
	}, stdout, stderr)
}

// doctorTokens loads the token keys as serve does at start and names the
// algorithm tokens are minted with ("" for none).
func doctorTokens(ctx context.Context, cfg config.Token) (string, error) {
	ts, err := app.OpenTokens(ctx, cfg, hclog.NewNullLogger(), app.Options{RequireJWKS: true})
	if err != nil || ts.Minter == nil {
		return "", err
	}
	return ts.Minter.Algorithm(), nil
}

// doctorChat is the chat server the migration API asks which names are
// accounts, signing in as rooms.jid unless migration.ejabberd_api_url
// is set.
func doctorChat(ctx context.Context, cfg config.Config, store *wikidb.Store) doctor.ChatServer {
	var admin account.Login // not asked with migration.ejabberd_api_url
	if cfg.Migration.EjabberdAPIURL == "" {
		admin = app.OpenAdminLogin(ctx, cfg, store, hclog.NewNullLogger())
	}
	return app.MigrationChat(cfg, admin)
}
