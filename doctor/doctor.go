package doctor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"livechat-auth/config"
	"livechat-auth/wikidb"
)

// Config is what the doctor checks and how the program builds what it
// checks. Every function is required.
type Config struct {
	// Path is the config file (doctor --config); "" reads the
	// LIVECHAT_AUTH_* variables only.
	Path string
	// Probe is the livechat_id the isuser check asks about (doctor
	// --user); "" asks about the first migrated account.
	Probe string
	// As is the user to run the checks as (doctor --as; root only); ""
	// runs them as this process's user.
	As string
	// ServeConfig is, with As, serve's config file, whose secrets are
	// checked too (doctor --serve-config); "" checks only those Path
	// names.
	ServeConfig string
	// KeepEnv, with As, runs the checks with Environ instead of the
	// clean environment a chat server's service starts with (doctor
	// --keep-env).
	KeepEnv bool

	// Version is the program's version, named on the first line.
	Version string
	// Getenv reads the settings' variables (config.Load).
	Getenv func(string) string
	// Environ is the process's environment: the names (never the
	// values) of its LIVECHAT_AUTH_*, RUNTIME_DIRECTORY and TMPDIR
	// variables are printed, and the isuser check's extauth process
	// starts with it.
	Environ []string
	// Program returns the path of this program, which the isuser check
	// starts as "extauth" and As starts as "doctor".
	Program func() (string, error)
	// DaemonSocket returns the socket of the automatic extauth daemon
	// for these settings (extauth.daemon_socket unset).
	DaemonSocket func() (string, error)
	// Tokens loads the token keys as serve does at start, a JWKS that
	// cannot be fetched being an error, and returns the algorithm tokens
	// are minted with ("" when none can be). Background work ends with
	// ctx.
	Tokens func(ctx context.Context, cfg config.Token) (minting string, err error)
	// Chat returns the chat server the migration API asks which names
	// are accounts, built as serve builds it.
	Chat func(ctx context.Context, cfg config.Config, store *wikidb.Store) ChatServer
}

// ChatServer tells which names are accounts on the chat server;
// *oldaccount.Server implements it.
type ChatServer interface {
	Exists(ctx context.Context, name string) (bool, error)
}

// ServeUser is the user serve runs as (deploy/systemd/livechat-auth.service):
// the secrets that are serve's alone are its own, and doctor --as any
// other user takes that user for the chat server's.
const ServeUser = "livechat-auth"

// Run prints one line per check on stdout and returns the exit code: 0
// when all are OK, 1 for a warning, 2 for a failure. An error that
// stops it before any check (with As: an unknown user, not root, a
// program that user may not run) goes to stderr as the program's own
// errors do ("livechat-auth doctor: …"), with exit code 2.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) int {
	if cfg.As != "" {
		return runAs(ctx, cfg, stdout, stderr)
	}
	d := &report{out: stdout, path: cfg.Path}
	me := "uid " + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		me = u.Username + " (" + me + ")"
		d.user = u.Username
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			d.group = g.Name
		}
	}
	fmt.Fprintf(stdout, "livechat-auth %s doctor, as %s\n", cfg.Version, me)
	printEnvironment(stdout, cfg.Environ)
	settings, ok := d.checkConfig(cfg.Path, cfg.Getenv, me)
	if !ok {
		return int(d.worst)
	}
	d.checkSecretFiles(settings, cfg.Path)
	store, err := wikidb.Open(string(settings.Wiki.DSN), wikidb.Config{QueryTimeout: settings.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		d.say(verdictFail, "wiki.dsn: "+err.Error(), "set a go-sql-driver DSN: reader:pw@tcp(host:3306)/tiki")
		return int(d.worst)
	}
	defer store.Close()
	sample, answered := d.checkDatabase(ctx, store, dbName(settings.Wiki))
	if cfg.Probe != "" {
		sample = cfg.Probe
	}
	d.checkSocket(settings, cfg.DaemonSocket)
	d.checkTokens(ctx, settings, cfg.Tokens)
	d.checkRedis(ctx, settings)
	d.checkMigration(ctx, settings, store, cfg.Chat)
	if answered {
		d.checkExtauth(ctx, cfg, settings, sample)
	} else {
		d.say(verdictWarn, "no isuser check: the wiki database did not let this user in (above), so every answer would be no", "")
	}
	return int(d.worst)
}

// printEnvironment names the variables of environ that change what the
// checks see, never their values.
func printEnvironment(out io.Writer, environ []string) {
	var vars []string
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, config.EnvPrefix) || name == "RUNTIME_DIRECTORY" || name == "TMPDIR" {
			vars = append(vars, name)
		}
	}
	if len(vars) == 0 {
		fmt.Fprintln(out, "     environment: no LIVECHAT_AUTH_*, RUNTIME_DIRECTORY or TMPDIR variable (a chat server's may set some: compare)")
	} else {
		fmt.Fprintf(out, "     environment: %s (values not shown; a chat server's may differ)\n", strings.Join(vars, ", "))
	}
}

// A doctor's verdict on one thing, worst last; as an exit code, the
// doctor's.
type verdict int

const (
	verdictOK verdict = iota
	verdictWarn
	verdictFail
)

func (v verdict) String() string { return [...]string{"OK  ", "WARN", "FAIL"}[v] }

// report prints one line per check and remembers the worst verdict.
type report struct {
	out   io.Writer
	worst verdict
	user  string // the user the checks run as (the chat server's, with --as)
	group string // its primary group; "" unknown
	path  string // the config file; "": variables alone
}

// configFlag is " --config PATH" for the hints, "" without a file.
func (d *report) configFlag() string {
	if d.path == "" {
		return ""
	}
	return " --config " + d.path
}

// say prints a verdict on what, and for WARN and FAIL what to do.
func (d *report) say(v verdict, what, todo string) {
	d.worst = max(d.worst, v)
	if todo != "" && v != verdictOK {
		fmt.Fprintf(d.out, "%s %s\n     → %s\n", v, what, todo)
		return
	}
	fmt.Fprintf(d.out, "%s %s\n", v, what)
}

// failed reports an error that stops the doctor on stderr, as the
// program reports a subcommand's error, and returns a failure's exit
// code.
func failed(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "livechat-auth doctor: %s\n", config.OneLine(err))
	return int(verdictFail)
}
