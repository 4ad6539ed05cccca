package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"livechat-auth/app"
	"livechat-auth/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitRefused = 1 // check: the sign-in was refused
	exitError   = 2 // bad usage, bad settings, or a fault
)

// run is the whole program, with its surroundings passed in.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitError
	}
	if asksHelp(args[1:]) {
		stderr = stdout // the usage asked for is output, not an error: "doctor --help | less"
	}
	switch args[0] {
	case "extauth":
		return runExtauth(ctx, args[1:], stdin, stdout, stderr, getenv)
	case daemonCommand: // started by extauth; not for people
		return runDaemon(ctx, args[1:], stderr, getenv)
	case "locks":
		return runLocks(ctx, args[1:], stdout, stderr, getenv)
	case "check":
		return runCheck(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, getenv)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr, getenv)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "ids":
		return runIDs(ctx, args[1:], stdout, stderr, getenv)
	case "sync-rooms":
		return runSyncRooms(ctx, args[1:], stdout, stderr, getenv)
	case "end-sessions":
		return runEndSessions(ctx, args[1:], stdout, stderr, getenv)
	case "doctor":
		return runDoctor(ctx, args[1:], stdout, stderr, getenv)
	case "health":
		return runHealth(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version":
		fmt.Fprintln(stdout, app.ReadBuild().Line())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	fmt.Fprintf(stderr, "livechat-auth: unknown command %q\n\n%s", args[0], usage())
	return exitError
}

// asksHelp reports whether a subcommand's arguments ask for its usage
// (-h, -help or --help before any "--").
func asksHelp(args []string) bool {
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			// Not when it is the value of the flag before it (--config -h):
			// then it is no request for help, and errors stay errors.
			prev := ""
			if i > 0 {
				prev = args[i-1]
			}
			if strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") && !boolFlags[strings.TrimLeft(prev, "-")] {
				return false
			}
			return true
		}
	}
	return false
}

// boolFlags are the subcommands' flags that take no value.
var boolFlags = map[string]bool{"dry-run": true, "merge-by-name": true, "keep-env": true, "h": true, "help": true}

// fail reports a subcommand's error on stderr, on one line, and returns
// exitError.
func fail(stderr io.Writer, cmd string, err error) int {
	var fe flagError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK // the usage was asked for, and printed
	case errors.As(err, &fe):
		return exitError // the flag package said what was wrong, with the usage
	}
	fmt.Fprintf(stderr, "livechat-auth %s: %s\n", cmd, config.OneLine(err))
	return exitError
}

// flagError is a command line the flag package refused, and has already
// explained.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// configUsage describes the --config flag every command that reads the
// settings has.
const configUsage = "the config `FILE` (YAML); env LIVECHAT_AUTH_CONFIG; without one, LIVECHAT_AUTH_* variables alone"

// loadConfig parses the common flags, then loads and validates settings.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (config.Config, error) {
	path := fs.String("config", getenv("LIVECHAT_AUTH_CONFIG"), configUsage)
	if err := parseInterspersed(fs, args); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		return cfg, err
	}
	err = errors.Join(cfg.Validate(), cfg.StrictConfigFile(*path))
	if err != nil {
		return cfg, fmt.Errorf("invalid settings: %w", err)
	}
	return cfg, nil
}

// parseInterspersed parses args with fs, taking flags wherever they are
// ("token alice --lifetime 1m" as "token --lifetime 1m alice"); after
// "--" everything is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) {
			if i+1 == len(args) {
				err := fmt.Errorf("flag needs an argument: %s", a)
				fmt.Fprintln(fs.Output(), err)
				fs.Usage()
				return flagError{err}
			}
			i++
			flags = append(flags, args[i]) // the flag's value
		}
	}
	if err := fs.Parse(append(append(flags, "--"), rest...)); err != nil {
		return flagError{err}
	}
	return nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
