package main

import (
	"context"
	"flag"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauth"
)

// runExtauth serves ejabberd's external auth protocol until stdin ends.
// It starts even when the database is down and answers "no" until it
// comes back: exiting would take ejabberd's whole auth pool down.
//
// By default it relays every request to the automatic daemon of its
// settings (starting it when none answers), so that the processes of
// ejabberd's pool share one used-token record, failure limit and cache;
// extauth.daemon_socket names serve's socket instead, or "off" decides
// alone.
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
	warnSettings(log, cfg, fs.Lookup("config").Value.String())

	auth, store, tokens, err := openAuthenticator(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		log.Warn("wiki database unavailable at start; answering no until it returns", "error", err)
	}
	srv, err := extauth.New(auth, log, cfg.Extauth.RequestTimeout)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	rc := extauth.RelayConfig{Socket: cfg.Extauth.DaemonSocket, Timeout: cfg.Extauth.RequestTimeout, Tokens: tokens.verifier != nil}
	switch rc.Socket {
	case config.DaemonOff:
		log.Info("serving alone (extauth.daemon_socket: off)", "domains", cfg.Domains, "version", version, "pid", os.Getpid())
		return serveExtauth(ctx, srv.Serve, stdin, stdout, log)
	case "":
		cfgPath := fs.Lookup("config").Value.String()
		socket, err := autoSocket(cfgPath, getenv)
		if err != nil {
			// Relaying nowhere: passwords are decided here, tokens refused.
			log.Error("cannot share state with the other extauth processes; refusing tokens, deciding passwords alone", "error", err)
			rc.Unshared = err
		} else {
			rc.Start = extauth.AutoStart(func(socket string) error { return spawnDaemon(cfgPath, socket) }, 3*time.Second)
			rc.Locate = func() (string, error) { return autoSocket(cfgPath, getenv) }
		}
		rc.Socket = socket
	}
	// When ejabberd's pipes are this process's own stdin and stdout, the
	// daemon reads and answers them itself: no hop through this process.
	if in, ok := stdin.(*os.File); ok && rc.Unshared == nil {
		if out, ok := stdout.(*os.File); ok {
			rc.Handoff = extauth.HandoffFiles(in, out)
		}
	}
	relay, err := extauth.NewRelay(srv, log, rc)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	if rc.Handoff != nil {
		stdin, stdout = rc.Handoff.In, rc.Handoff.Out // the duplicates the daemon may be handed
	}
	log.Info("serving", "domains", cfg.Domains, "version", version, "pid", os.Getpid(), "daemon_socket", rc.Socket, "handoff", rc.Handoff != nil)
	return serveExtauth(ctx, relay.Serve, stdin, stdout, log)
}

// serveExtauth runs one extauth loop and turns its end into an exit code.
func serveExtauth(ctx context.Context, serve func(context.Context, io.Reader, io.Writer) error, stdin io.Reader, stdout io.Writer, log hclog.Logger) int {
	if err := serve(ctx, stdin, stdout); err != nil {
		log.Error("stopped", "error", err)
		return exitError
	}
	log.Info("input closed; exiting")
	return exitOK
}
