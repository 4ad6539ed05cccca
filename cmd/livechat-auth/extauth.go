package main

import (
	"context"
	"flag"
	"io"

	"livechat-auth/xmpp/extauth"
)

// runExtauth serves ejabberd's external auth protocol until stdin ends.
// It starts even when the database is down and answers "no" until it
// comes back: exiting would take ejabberd's whole auth pool down.
func runExtauth(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("extauth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "extauth", err)
	}
	log, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "extauth", err)
	}
	defer closeLog()
	log = log.Named("extauth")

	auth, store, _, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start; answering no until it returns", "error", err)
	}
	log.Info("serving", "domains", cfg.Domains, "version", version)

	srv, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	if path := cfg.Extauth.DaemonSocket; path != "" {
		relay, err := extauth.NewRelay(path, srv, log, cfg.Extauth.RequestTimeout)
		if err != nil {
			log.Error("cannot start", "error", err)
			return exitError
		}
		if err := relay.Serve(ctx, stdin, stdout); err != nil {
			log.Error("stopped", "error", err)
			return exitError
		}
		log.Info("input closed; exiting")
		return exitOK
	}
	if err := srv.Serve(ctx, stdin, stdout); err != nil {
		log.Error("stopped", "error", err)
		return exitError
	}
	log.Info("input closed; exiting")
	return exitOK
}
