package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/server"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/extauthd"

	"github.com/hashicorp/go-hclog"
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
//
// Settings that do not load, or a decision maker that cannot be built,
// are no reason to exit either: it logs why and answers "no" to every
// request, trying again every 5 s, until they can (see extauth.Unready).
func runExtauth(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	fallback := hclog.New(&hclog.LoggerOptions{Name: "extauth", Output: stderr})
	build := func() (extauth.Answerer, error) {
		answer, cleanup, err := buildExtauth(ctx, args, stderr, getenv)
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, cleanup)
		return answer, nil
	}
	answer, err := build()
	var fe flagError
	if errors.Is(err, flag.ErrHelp) || errors.As(err, &fe) {
		return fail(stderr, "extauth", err) // the command line, which only a restart changes
	}
	if err != nil {
		answer = &extauth.Unready{Build: build, Log: fallback}
		answer.(*extauth.Unready).Answer(ctx, nil) // logs why, once
	}
	if err := extauth.Serve(ctx, stdin, stdout, answer); err != nil {
		fallback.Error("stopped", "error", err)
		return exitError
	}
	if u, ok := answer.(*extauth.Unready); ok && !u.Ready() {
		return exitError // it never could start: say so to whoever ran it
	}
	return exitOK
}

// buildExtauth loads the settings and builds what answers: the local
// decision maker, behind the relay to the shared daemon unless it is
// off. cleanup closes what it opened.
func buildExtauth(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) (answer extauth.Answerer, cleanup func(), err error) {
	fs := flags("extauth", stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return nil, nil, err
	}
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		closeLog()
	}
	cleanup = func() {
		log.Info("input closed; exiting")
		closeAll()
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	log = log.Named("extauth")
	cfgPath := fs.Lookup("config").Value.String()
	app.WarnSettings(log, cfg, cfgPath, stderr)

	auth, store, tokens, err := app.OpenAuthenticator(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { store.Close() })
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start; answering no until it returns", "error", err)
	}
	local, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		return nil, nil, err
	}
	rc := extauthd.RelayConfig{Socket: cfg.Extauth.DaemonSocket, Timeout: cfg.Extauth.RequestTimeout, Tokens: tokens.Verifier != nil}
	switch rc.Socket {
	case config.DaemonOff:
		log.Info("serving alone (extauth.daemon_socket: off)", "domains", cfg.Domains, "version", app.ReadBuild().Version, "pid", os.Getpid())
		if observe := server.ServeAlone(ctx, cfg, auth, store, log); observe != nil {
			local.Observe(observe)
		}
		return local, cleanup, nil
	case "":
		socket, err := app.AutoSocket(cfgPath, getenv)
		if err != nil {
			// Relaying nowhere: passwords are decided here, tokens refused.
			log.Error("cannot share state with the other extauth processes; refusing tokens, deciding passwords alone", "error", err)
			rc.Unshared = err
		} else {
			rc.Start = extauthd.AutoStart(func(socket string) (<-chan struct{}, error) { return spawnDaemon(cfgPath, socket) }, 3*time.Second)
			rc.Locate = func() (string, error) { return app.AutoSocket(cfgPath, getenv) }
		}
		rc.Socket = socket
	}
	relay, err := extauthd.NewRelay(local, log, rc)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { relay.Close() })
	log.Info("serving", "domains", cfg.Domains, "version", app.ReadBuild().Version, "pid", os.Getpid(), "daemon_socket", rc.Socket)
	return relay, cleanup, nil
}
