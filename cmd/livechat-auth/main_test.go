package main

import (
	"context"
	"os"
	"testing"
)

// TestMain lets this test binary stand in for livechat-auth when an
// extauth run under test starts the automatic daemon (os.Executable is
// then the test binary): it runs the daemon instead of the tests, which
// would otherwise start daemons of their own, over and over.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == daemonCommand {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}
