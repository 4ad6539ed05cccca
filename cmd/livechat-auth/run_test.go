package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livechat-auth/app"
	"livechat-auth/config"
)

// Distinctive secrets, so that finding one in any output is a leak.
const (
	userPassword = "s3cret-pass"
	dsnPassword  = "dsn-s3cret-pw"
)

// result is what one run produced.
type result struct {
	code           int
	stdout, stderr string
}

// runWith calls run with stdin and an environment of vars.
func runWith(t *testing.T, args []string, stdin []byte, vars map[string]string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string { return vars[name] }
	code := run(t.Context(), args, bytes.NewReader(stdin), &stdout, &stderr, getenv)
	return result{code, stdout.String(), stderr.String()}
}

// deadAddr returns a 127.0.0.1 address where nothing listens: a port
// that was free a moment ago.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// deadDBEnv is a valid environment whose database is unreachable, with a
// short query timeout so that each attempt fails fast.
func deadDBEnv(t *testing.T) map[string]string {
	return map[string]string{
		"LIVECHAT_AUTH_DOMAINS":            "chat.test",
		"LIVECHAT_AUTH_WIKI_DSN":           "livechat:" + dsnPassword + "@tcp(" + deadAddr(t) + ")/tiki",
		"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT": "300ms",
		// One process deciding alone: the automatic daemon is tested
		// through the binary in ./test.
		"LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET": "off",
	}
}

// frame encodes one extauth request: a 2-byte big-endian length, then
// the body.
func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

// assertNoSecrets fails when any output holds a password.
func assertNoSecrets(t *testing.T, r result) {
	t.Helper()
	for _, secret := range []string{userPassword, dsnPassword} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("stdout holds %q:\n%s", secret, r.stdout)
		}
		if strings.Contains(r.stderr, secret) {
			t.Errorf("stderr holds %q:\n%s", secret, r.stderr)
		}
	}
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // exact; "*" for any non-empty
		stderrHas  string
		stderrNone bool
	}{
		{name: "version", args: []string{"version"}, code: exitOK, stdout: app.ReadBuild().Line() + "\n", stderrNone: true},
		{name: "--version", args: []string{"--version"}, code: exitOK, stdout: app.ReadBuild().Line() + "\n", stderrNone: true},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: usage(), stderrNone: true},
		{name: "ids --help", args: []string{"ids", "--help"}, code: exitOK, stdout: idsUsage, stderrNone: true},
		{name: "no args", args: nil, code: exitError, stderrHas: "usage: livechat-auth <command>"},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitError, stderrHas: `unknown command "frobnicate"`},
		{name: "flag as command", args: []string{"--config"}, code: exitError, stderrHas: "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(t, tt.args, nil, nil)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if r.stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.stdout)
			}
			if tt.stderrHas != "" && !strings.Contains(r.stderr, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, r.stderr)
			}
			if tt.stderrNone && r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

func TestExtauthBadSettings(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(badFile, []byte("domains: [chat.test]\nwiki:\n  dsn_fiel: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := deadDBEnv(t)
	with := func(name, value string) map[string]string {
		vars := map[string]string{name: value}
		for k, v := range valid {
			if k != name {
				vars[k] = v
			}
		}
		return vars
	}
	tests := []struct {
		name   string
		args   []string
		vars   map[string]string
		stderr []string // each must appear
	}{
		{"missing settings", nil, nil, []string{"domains: ", "wiki.dsn: "}},
		{"bad duration", nil, with("LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT", "soon"), []string{"LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT"}},
		{"upper-case domain", nil, with("LIVECHAT_AUTH_DOMAINS", "Chat.Test"), []string{"domains: "}},
		{"request timeout over 25s", nil, with("LIVECHAT_AUTH_EXTAUTH_REQUEST_TIMEOUT", "29s"), []string{"extauth.request_timeout: "}},
		{"unknown file key", []string{"--config", badFile}, valid, []string{"dsn_fiel"}},
		{"unknown file key from env", nil, with("LIVECHAT_AUTH_CONFIG", badFile), []string{"dsn_fiel"}},
		{"missing config file", []string{"--config", filepath.Join(t.TempDir(), "nope.yaml")}, valid, []string{"nope.yaml"}},
		{"unknown flag", []string{"--verbose"}, valid, []string{"verbose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := frame("auth:alice:chat.test:" + userPassword)
			r := runWith(t, append([]string{"extauth"}, tt.args...), in, tt.vars)
			if r.code != exitError {
				t.Errorf("exit %d, want %d", r.code, exitError)
			}
			// Bad settings are no reason to exit (ejabberd would give up the
			// pool): the request is answered "no". A bad command line is.
			want := "\x00\x02\x00\x00"
			if tt.name == "unknown flag" {
				want = ""
			}
			if r.stdout != want {
				t.Errorf("stdout = %q, want %q: stdout belongs to the protocol", r.stdout, want)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			assertNoSecrets(t, r)
		})
	}
}

func TestExtauthDatabaseDown(t *testing.T) {
	tests := []struct {
		name     string
		requests []string
		replies  int
	}{
		{"one auth", []string{"auth:alice:chat.test:" + userPassword}, 1},
		{"auth then isuser", []string{"auth:alice:chat.test:" + userPassword, "isuser:alice:chat.test"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []byte
			for _, body := range tt.requests {
				in = append(in, frame(body)...)
			}
			r := runWith(t, []string{"extauth"}, in, deadDBEnv(t))
			if r.code != exitOK {
				t.Errorf("exit %d, want %d at the end of input; stderr:\n%s", r.code, exitOK, r.stderr)
			}
			if want := strings.Repeat("\x00\x02\x00\x00", tt.replies); r.stdout != want {
				t.Errorf("stdout = % x, want % x (%d no)", r.stdout, want, tt.replies)
			}
			if !strings.Contains(r.stderr, "reason=db-unavailable") {
				t.Errorf("stderr lacks reason=db-unavailable:\n%s", r.stderr)
			}
			assertNoSecrets(t, r)
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		stdin     string
		vars      map[string]string
		code      int
		stdout    string // prefix
		stderrHas string
	}{
		{name: "database down", args: []string{"alice@chat.test"}, stdin: userPassword + "\n", vars: deadDBEnv(t),
			code: exitError, stdout: "error: "},
		{name: "no @", args: []string{"alice"}, stdin: userPassword + "\n", vars: deadDBEnv(t),
			code: exitError, stderrHas: "usage: livechat-auth check"},
		{name: "no address", stdin: userPassword + "\n", vars: deadDBEnv(t),
			code: exitError, stderrHas: "usage: livechat-auth check"},
		{name: "two addresses", args: []string{"alice@chat.test", "bob@chat.test"}, stdin: userPassword + "\n", vars: deadDBEnv(t),
			code: exitError, stderrHas: "usage: livechat-auth check"},
		{name: "bad settings", args: []string{"alice@chat.test"}, stdin: userPassword + "\n",
			code: exitError, stderrHas: "wiki.dsn: "},
		// Refusals decided before any query need no database. runCheck
		// prints the Reason with %s, which calls Reason.Error() and doubles
		// the prefix; it should print string(reason).
		{name: "other domain", args: []string{"alice@elsewhere.test"}, stdin: userPassword + "\n", vars: deadDBEnv(t),
			code: exitRefused, stdout: "refused: bad-domain\n"},
		{name: "empty password", args: []string{"alice@chat.test"}, stdin: "", vars: deadDBEnv(t),
			code: exitRefused, stdout: "refused: bad-input\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(t, append([]string{"check"}, tt.args...), []byte(tt.stdin), tt.vars)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q, stderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, tt.stdout) {
				t.Errorf("stdout = %q, want it to start with %q", r.stdout, tt.stdout)
			}
			if tt.stdout == "" && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, r.stderr)
			}
			assertNoSecrets(t, r)
		})
	}
}

// TestFlagsAfterArguments: flags are taken wherever they stand, "--"
// ends them, and a flag the command does not know is an error.
func TestFlagsAfterArguments(t *testing.T) {
	tests := []struct {
		args     []string
		config   string
		lifetime string
		rest     string
		wantErr  bool
	}{
		{args: []string{"alice", "--config", "c.yaml"}, config: "c.yaml", rest: "alice"},
		{args: []string{"--config=c.yaml", "alice", "--lifetime", "1m"}, config: "c.yaml", lifetime: "1m0s", rest: "alice"},
		{args: []string{"clear", "bob", "-config", "c.yaml"}, config: "c.yaml", rest: "clear bob"},
		{args: []string{"--", "--config"}, rest: "--config"},
		{args: []string{"alice", "--lifetme", "1m"}, wantErr: true},
		{args: []string{"clear", "bob", "--config"}, wantErr: true}, // never "--" taken as its value
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		config := fs.String("config", "", "")
		lifetime := fs.Duration("lifetime", 0, "")
		err := parseInterspersed(fs, tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		gotLifetime := ""
		if *lifetime != 0 {
			gotLifetime = lifetime.String()
		}
		if *config != tt.config || gotLifetime != tt.lifetime || strings.Join(fs.Args(), " ") != tt.rest {
			t.Errorf("%q: config %q lifetime %q args %q", tt.args, *config, gotLifetime, fs.Args())
		}
	}
}

// TestHelp: every command's --help is output (stdout, exit 0) that names
// the command and its arguments, says what it does, lists each of its
// flags with its default, and names its signals and exit codes; the
// top-level usage lists every command, aligned.
func TestHelp(t *testing.T) {
	defaults := map[string]string{"--lifetime": "token.lifetime", "--alg": "RS256", "--timeout": "3s"}
	for _, c := range commands {
		if c.name == "version" {
			continue
		}
		r := runWith(t, []string{c.name, "--help"}, nil, nil)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
		wants := []string{"usage: livechat-auth " + c.name, "signals: ", "exit codes: 0 "}
		if c.name != "keygen" { // the one command that reads no settings
			wants = append(wants, "--config FILE")
		}
		for _, want := range wants {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s --help lacks %q:\n%s", c.name, want, r.stdout)
			}
		}
		if c.args != "" && !strings.Contains(r.stdout, c.args) {
			t.Errorf("%s --help does not name its arguments %q", c.name, c.args)
		}
		for flagName, def := range defaults {
			if strings.Contains(r.stdout, flagName+" ") && !strings.Contains(r.stdout, "default "+def) {
				t.Errorf("%s --help: %s without its default %s:\n%s", c.name, flagName, def, r.stdout)
			}
		}
	}
	r := runWith(t, []string{"help"}, nil, nil)
	column := -1
	for _, c := range commands {
		line := ""
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, "  "+c.name+" ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("the usage does not list %s", c.name)
			continue
		}
		at := strings.Index(line, c.summary)
		if column == -1 {
			column = at
		}
		if at != column {
			t.Errorf("the usage's %s line is not aligned: %q", c.name, line)
		}
	}
}

// TestKeygenSecret: keygen --alg secret writes a fresh 32-byte secret,
// readable by its owner only, that the settings take as a secret file.
func TestKeygenSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	if r := runWith(t, []string{"keygen", "--alg", "secret", "--out", path}, nil, nil); r.code != exitOK {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	fi, err := os.Stat(path)
	data, _ := os.ReadFile(path)
	if err != nil || fi.Mode().Perm() != 0o600 || len(strings.TrimSpace(string(data))) != 64 {
		t.Fatalf("secret file: %v %v %q", err, fi.Mode(), data)
	}
	if r := runWith(t, []string{"keygen", "--alg", "secret", "--out", path}, nil, nil); r.code != exitError {
		t.Error("keygen overwrote a file")
	}
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("domains: [chat.test]\nwiki:\n  dsn: \"r:p@tcp(127.0.0.1:3306)/tiki\"\ntoken:\n  secret_file: %q\nsession:\n  key_file: %q\n", path, path)), 0o600)
	loaded, err := config.Load(cfgPath, func(string) string { return "" })
	if err == nil {
		err = loaded.Validate()
	}
	if err != nil {
		t.Errorf("the secret as token.secret_file and session.key_file: %v", err)
	}
}

// TestHelpAsAFlagValue: -h given as a flag's value is no request for
// help, so the error it leads to stays on stderr.
func TestHelpAsAFlagValue(t *testing.T) {
	r := runWith(t, []string{"check", "--config", "-h", "alice@chat.test"}, nil, nil)
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "-h") {
		t.Errorf("check --config -h: %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runWith(t, []string{"sync-rooms", "--dry-run", "--help"}, nil, nil); r.code != exitOK || r.stdout == "" {
		t.Errorf("sync-rooms --dry-run --help: %d %q", r.code, r.stdout)
	}
}
