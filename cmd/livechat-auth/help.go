package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is what a subcommand's --help says around its flags: what it
// does, the signals it handles, where its log goes and its exit codes.
type command struct {
	name    string // as typed after livechat-auth
	args    string // what follows the flags; "" none
	summary string // one line, for the top-level usage
	does    string
	signals string // "" none of its own
	logs    string // "" it logs nothing (it writes its findings on stdout, errors on stderr)
	exits   string
}

// Where the commands that load settings log.
const (
	logsStderr = "stderr, or log.file when set (log.level, log.format); never stdout"
	exitsCheck = "0 done; 2 bad usage, settings that do not load, or a fault"
)

// commands are the subcommands, in the order the usage lists them.
var commands = []command{
	{name: "extauth", summary: "ejabberd's external auth program: framed requests on stdin, replies on stdout",
		does: `ejabberd starts it (extauth_program) and keeps it running. Each request goes
to the automatic daemon of these settings (started when none answers), so that
the processes of ejabberd's pool share one used-token record, failure limit
and cache; extauth.daemon_socket names serve's socket instead, or "off"
decides alone. A database outage or settings that do not load never stop it:
it answers "no", logs why, and tries again every 5 s.`,
		signals: "SIGINT and SIGTERM stop it; so does the end of stdin (ejabberd stopping it)",
		logs: `stderr (ejabberd's log collects it), or log.file; never stdout, which
carries the replies. The automatic daemon logs to log.file, else to a file
beside its socket ("livechat-auth doctor" names both).`,
		exits: "0 stdin closed; 2 a bad command line, or it never could start"},
	{name: "check", args: "user@domain", summary: "diagnose one sign-in, as the chat server would ask it",
		does: `Decides one sign-in with the settings' rules and prints "allowed" with the
account and its groups, or "refused" with the reason code, and whether the
failure limit has locked the name (asked of the daemon that keeps the
counts). The password is read from a prompt without echo, or from stdin when
piped. Nothing is counted against the name.`,
		logs: logsStderr, exits: "0 allowed; 1 refused; 2 bad usage, settings that do not load, or a fault"},
	{name: "locks", args: "[clear USER]", summary: "list the names the failure limit locked, or clear one",
		does: `Lists the names the failure limit has locked (wiki accounts first, then other
names and keys), or clears one lock, by asking the daemon that keeps the
counts (serve's extauth.daemon_socket, or the automatic daemon) or, with
state.redis_url, the shared Redis. Nothing needs restarting.`,
		exits: "0 done; 1 clear found no lock; 2 no daemon or Redis to ask, or a fault"},
	{name: "serve", summary: "HTTP listener: session and migration APIs, HTTP auth, keys, chat proxy, status page",
		does: `Serves on serve.listen the wiki's session API, the migration API, the HTTP
auth contract (Prosody, MongooseIM), the published token keys, /healthz,
/readyz, /metrics and the chat WebSocket/BOSH proxy, as configured; with
extauth.daemon_socket it answers ejabberd's extauth processes, with
status.listen the status page. It runs the room sync (rooms.rules) and the
session checks (end_sessions). Settings that do not load or build stop it at
start; on reload they are refused and the running ones kept.`,
		signals: `SIGHUP reads the config file and keys again without dropping connections;
SIGINT and SIGTERM stop it after the requests under way (10 s at most)`,
		logs: logsStderr, exits: "0 stopped by a signal; 2 bad usage, settings that cannot start, or the listener failed"},
	{name: "token", args: "livechat_id", summary: "mint a sign-in token for one account",
		does: `Mints a sign-in token for the account whose livechat_id is given, as the
session API would, and prints it on stdout (its JID, key id and expiry go to
stderr). An account the rules refuse gets no token.`,
		logs: logsStderr, exits: "0 minted; 1 the account is refused (the reason on stderr); 2 bad usage, no key to mint with, or a fault"},
	{name: "keygen", summary: "make a token signing key, or a secret",
		does: `Writes a token signing key (RS256, ES256 or EdDSA) to --out, mode 0600, and
its public half to --public-out (mode 0644) or stdout; with --alg secret, a
random secret (64 hex digits) for token.secret_file, session.key_file,
httpauth.secret_file or status.secret_file. It never overwrites a file.`,
		exits: "0 written; 2 bad usage, or a file exists"},
	{name: "sync-rooms", summary: "make chat-room affiliations follow the wiki groups, once",
		does: `Makes the chat rooms' affiliations follow the wiki groups once (rooms.rules),
signed in as rooms.jid, and prints each change; --dry-run prints the plan.
serve does the same every rooms.interval.`,
		logs: logsStderr, exits: "0 every room in step; 1 some room failed; 2 bad settings, or the sync could not run"},
	{name: "end-sessions", summary: "end the sessions of online accounts the wiki now refuses, once",
		does: `Ends, once, the chat sessions of online accounts the wiki now refuses
(suspended, deleted, renamed, ...), signed in as rooms.jid (a server
administrator), and prints each; --dry-run only lists them. serve does the
same when end_sessions.enabled.`,
		logs: logsStderr, exits: "0 nothing failed; 1 a session could not be ended; 2 the pass could not run"},
	{name: "ids", args: "suggest LOGIN | report | plan", summary: "migration tools: id suggestions, a migration report, a reviewable SQL plan"},
	{name: "doctor", summary: "check what the chat server needs, as its user",
		does: `Checks, in one screen, what livechat-auth needs when the chat server starts
it: the settings, the database, its grant and schema, the stored hashes, the
daemon's socket, the token keys, the shared Redis, and an isuser through the
real extauth framing. With --as USER (as root) every check runs as that user.`,
		exits: "0 all OK; 1 a warning; 2 a failure"},
	{name: "health", summary: "ask the serve of these settings whether it is alive",
		does: `Asks the serve running with these settings whether it is alive (GET /healthz
at serve.listen, an unspecified host asked on loopback). It is the container
image's HEALTHCHECK.`,
		exits: "0 healthy; 1 not answering, or not healthy; 2 bad usage or settings"},
	{name: "version", summary: "print the version"},
}

// commandNamed returns the command called name.
func commandNamed(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("no command " + name)
}

// usage is the top-level usage.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: livechat-auth <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString(`
"livechat-auth <command> --help" says more. Settings come from --config FILE
(or LIVECHAT_AUTH_CONFIG) and LIVECHAT_AUTH_* variables; see
config.example.yaml.
`)
	return b.String()
}

// flags makes the flag set of the command called name, whose usage is
// the command's help.
func flags(name string, stderr io.Writer) *flag.FlagSet {
	c := commandNamed(name)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { c.help(fs.Output(), fs) }
	return fs
}

// help writes the command's help: usage, what it does, each flag with
// its default, signals, log and exit codes.
func (c command) help(w io.Writer, fs *flag.FlagSet) {
	synopsis := "livechat-auth " + c.name + " [flags]"
	if c.args != "" {
		synopsis += " " + c.args
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags:\n", synopsis, c.does)
	fs.VisitAll(func(f *flag.Flag) {
		kind, text := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if kind != "" {
			name += " " + strings.ToUpper(kind)
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "0s" {
			text += " (default " + def + ")"
		}
		fmt.Fprintf(w, "  %-22s %s\n", name, text)
	})
	signals := c.signals
	if signals == "" {
		signals = "SIGINT and SIGTERM stop it"
	}
	fmt.Fprintf(w, "\nsignals: %s\n", signals)
	if c.logs != "" {
		fmt.Fprintf(w, "\nlog: %s\n", c.logs)
	}
	fmt.Fprintf(w, "\nexit codes: %s\n", c.exits)
}
