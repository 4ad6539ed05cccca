package main

import (
	"context"
	"flag"
	"io"
	"os"
	"time"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/extauthd"
)

// runExtauth serves ejabberd's external auth protocol until stdin ends.
// It starts even when the database is down and answers "no" until it
// comes back: exiting would take ejabberd's whole auth pool down.
//
// By default it relays every request to the automatic daemon of its
// settings (starting it when none answers), so that the processes of
// ejabberd's pool share one used-token record, failure limit and cache;
// extauth.daemon_socket names serve's socket instead, or "off" decides
// alone. See package extauthd.
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
	cfgPath := fs.Lookup("config").Value.String()
	warnSettings(log, cfg, cfgPath)

	auth, store, tokens, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start; answering no until it returns", "error", err)
	}
	local, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	var answer extauth.Answerer = local
	rc := extauthd.RelayConfig{Socket: cfg.Extauth.DaemonSocket, Timeout: cfg.Extauth.RequestTimeout, Tokens: tokens.verifier != nil}
	switch rc.Socket {
	case config.DaemonOff:
		log.Info("serving alone (extauth.daemon_socket: off)", "domains", cfg.Domains, "version", version, "pid", os.Getpid())
	case "":
		socket, err := autoSocket(cfgPath, getenv)
		if err != nil {
			// Relaying nowhere: passwords are decided here, tokens refused.
			log.Error("cannot share state with the other extauth processes; refusing tokens, deciding passwords alone", "error", err)
			rc.Unshared = err
		} else {
			rc.Start = extauthd.AutoStart(func(socket string) error { return spawnDaemon(cfgPath, socket) }, 3*time.Second)
			rc.Locate = func() (string, error) { return autoSocket(cfgPath, getenv) }
		}
		rc.Socket = socket
		fallthrough
	default:
		relay, err := extauthd.NewRelay(local, log, rc)
		if err != nil {
			log.Error("cannot start", "error", err)
			return exitError
		}
		defer relay.Close()
		answer = relay
		log.Info("serving", "domains", cfg.Domains, "version", version, "pid", os.Getpid(), "daemon_socket", rc.Socket)
	}
	if err := extauth.Serve(ctx, stdin, stdout, answer); err != nil {
		log.Error("stopped", "error", err)
		return exitError
	}
	log.Info("input closed; exiting")
	return exitOK
}
