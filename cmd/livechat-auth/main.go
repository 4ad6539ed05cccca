// Command livechat-auth signs TikiWiki users in to XMPP chat servers.
//
// Subcommands: extauth (ejabberd's external auth program on stdin and
// stdout), check (diagnose one sign-in from a terminal) and version. Run
// "livechat-auth help" for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
