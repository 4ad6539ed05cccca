// Command livechat-auth signs TikiWiki users in to XMPP chat servers.
//
// Each subcommand (extauth, serve, check, locks, token, keygen, ...; the
// list is in help.go) parses its flags, loads the settings and calls the
// packages: app builds the parts, server runs serve and the automatic
// daemon. Run "livechat-auth help" for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"livechat-auth/config"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "extauth" && os.Getenv("GOMAXPROCS") == "" {
		// An extauth process serves one request at a time (ejabberd waits
		// for each reply) and mostly relays it, sleeping in read(2) for
		// the next request and for the daemon's reply. With a second P
		// idle, Go's runtime leaves the sleeping thread its P; with one,
		// it takes the P back during every read and wakes threads to do
		// so: about a third more CPU a request.
		runtime.GOMAXPROCS(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A setting's variable set but empty clears the file's value.
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, config.Getenv(os.LookupEnv))
	stop()
	os.Exit(code)
}
