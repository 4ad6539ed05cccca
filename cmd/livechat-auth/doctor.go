package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/state"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
)

// A doctor's verdict on one thing, worst last.
type verdict int

const (
	verdictOK verdict = iota
	verdictWarn
	verdictFail
)

func (v verdict) String() string { return [...]string{"OK  ", "WARN", "FAIL"}[v] }

// doctor prints one line per check and remembers the worst verdict.
type doctor struct {
	out   io.Writer
	worst verdict
}

// say prints a verdict on what, and for WARN and FAIL what to do.
func (d *doctor) say(v verdict, what, todo string) {
	d.worst = max(d.worst, v)
	if todo != "" && v != verdictOK {
		fmt.Fprintf(d.out, "%s %s\n     → %s\n", v, what, todo)
		return
	}
	fmt.Fprintf(d.out, "%s %s\n", v, what)
}

// runDoctor checks, in one screen, what the program needs to work when
// the chat server starts it: the settings, the database and its grant and
// schema, the stored hashes, the daemon's socket, the token keys, the
// shared Redis, and an isuser through the real extauth framing. With --as
// USER (as root) it runs every check as that user, as the chat server
// would, and then checks, as root, that USER can read none of serve's
// secrets named in --config and --serve-config (see checkServeSecrets).
// Exit 0: all OK; 1: a warning; 2: a failure.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fset := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", getenv("LIVECHAT_AUTH_CONFIG"), "config file (YAML); env LIVECHAT_AUTH_CONFIG")
	as := fset.String("as", "", "run the checks as this user (the chat server's, e.g. ejabberd or prosody; needs root); then, unless it is serve's user "+serveUser+", FAIL or WARN for each secret of serve's it can read (private signing key, session key, HS256 token secret, status, Redis and room account passwords)")
	serveCfg := fset.String("serve-config", "", "with --as: serve's config file, whose secrets are checked too (default: only those --config names)")
	probe := fset.String("user", "", "the livechat_id the isuser check asks about (default: the first migrated account)")
	keepEnv := fset.Bool("keep-env", false, "with --as: keep this shell's environment (LIVECHAT_AUTH_*, TMPDIR, …) instead of a clean one as a chat server starts with")
	if err := parseInterspersed(fset, args); err != nil {
		return fail(stderr, "doctor", err)
	}
	if fset.NArg() > 0 {
		return fail(stderr, "doctor", fmt.Errorf("unexpected argument %q (flags: --config FILE, --as USER, --serve-config FILE, --user NAME)", fset.Arg(0)))
	}
	if *as != "" {
		return doctorAs(ctx, *as, *cfgPath, *serveCfg, *probe, *keepEnv, stdout, stderr, getenv)
	}
	if *serveCfg != "" {
		return fail(stderr, "doctor", errors.New("--serve-config needs --as USER: the chat server's user, whose reach of serve's secrets is checked"))
	}
	d := &doctor{out: stdout}
	me := "uid " + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		me = u.Username + " (" + me + ")"
	}
	fmt.Fprintf(stdout, "livechat-auth %s doctor, as %s\n", version, me)
	var vars []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, config.EnvPrefix) || name == "RUNTIME_DIRECTORY" || name == "TMPDIR" {
			vars = append(vars, name)
		}
	}
	if len(vars) == 0 {
		fmt.Fprintln(stdout, "     environment: no LIVECHAT_AUTH_*, RUNTIME_DIRECTORY or TMPDIR variable (a chat server's may set some: compare)")
	} else {
		fmt.Fprintf(stdout, "     environment: %s (values not shown; a chat server's may differ)\n", strings.Join(vars, ", "))
	}
	cfg, ok := d.checkConfig(*cfgPath, getenv, me)
	if !ok {
		return int(d.worst)
	}
	d.checkSecretFiles(cfg, *cfgPath)
	log := hclog.NewNullLogger()
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		d.say(verdictFail, "wiki.dsn: "+err.Error(), "set a go-sql-driver DSN: reader:pw@tcp(host:3306)/tiki")
		return int(d.worst)
	}
	defer store.Close()
	sample := d.checkDatabase(ctx, store)
	if *probe != "" {
		sample = *probe
	}
	d.checkSocket(cfg, *cfgPath, getenv)
	d.checkTokens(ctx, cfg, log)
	d.checkRedis(ctx, cfg)
	d.checkMigration(ctx, cfg, store)
	d.checkExtauth(ctx, *cfgPath, cfg, sample, getenv)
	return int(d.worst)
}

// checkConfig reads and validates the settings as this user.
func (d *doctor) checkConfig(path string, getenv func(string) string, me string) (config.Config, bool) {
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			d.say(verdictFail, fmt.Sprintf("config %s: cannot be read as %s: %v", path, me, errors.Unwrap(err)),
				"make it readable by this user, e.g. chgrp ejabberd "+path+" && chmod 640 "+path+" (and the folders above it searchable)")
			return config.Config{}, false
		}
		f.Close()
	}
	cfg, err := config.Load(path, getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		d.say(verdictFail, "settings: "+oneLine(err), "fix the settings named; livechat-auth check --config FILE shows the same")
		return cfg, false
	}
	where := path
	if where == "" {
		where = "(no file: LIVECHAT_AUTH_* variables only)"
	}
	d.say(verdictOK, "config "+where+" readable and valid", "")
	return cfg, true
}

// checkSecretFiles warns about secret and key files (and a config file
// holding a secret) every user may read, as serve and extauth do at
// start, and about ones others than their owner may write.
func (d *doctor) checkSecretFiles(cfg config.Config, cfgPath string) {
	for _, w := range cfg.ExposedFiles(cfgPath) {
		what, todo, _ := strings.Cut(w, ": chmod")
		d.say(verdictWarn, what, "chmod"+todo+" (owner and the chat server's group may read it)")
	}
	files := cfg.SecretFiles()
	if cfgPath != "" {
		files = append(files, config.SecretFile{Key: "the config file", Path: cfgPath})
	}
	for _, f := range files {
		if fi, err := os.Stat(f.Path); err == nil && fi.Mode().Perm()&0o022 != 0 {
			d.say(verdictWarn, fmt.Sprintf("%s %s is writable by others than its owner (mode %04o)", f.Key, f.Path, fi.Mode().Perm()), "chmod go-w "+f.Path)
		}
	}
}

// checkDatabase checks that the wiki answers, the grant, the schema and
// the accounts, and returns a migrated account's livechat_id to ask
// about ("" for none).
func (d *doctor) checkDatabase(ctx context.Context, store *wikidb.Store) string {
	if err := store.Ping(ctx); err != nil {
		d.say(verdictFail, "wiki database does not answer: "+oneLine(err), "check wiki.dsn (host, port, user, password, database) and that this host may connect")
		return ""
	}
	formats := map[provider.HashFormat]int{}
	in, err := store.Inspect(ctx, func(h string) { formats[provider.FormatOf(h)]++ })
	if err != nil {
		d.say(verdictFail, "wiki database: "+oneLine(err), "grant the user SELECT on the wiki's database")
		return ""
	}
	d.say(verdictOK, "wiki database answers", "")
	if len(in.Beyond) > 0 {
		d.say(verdictWarn, "the database grant allows more than reading: "+strings.Join(in.Beyond, ", "),
			"livechat-auth only reads: give it a user with GRANT SELECT ON tiki.* only")
	} else {
		d.say(verdictOK, "the database grant is read-only (SELECT)", "")
	}
	for _, c := range in.Missing {
		todo := "this Tiki lacks a column livechat-auth reads"
		switch c {
		case "livechat_id":
			todo = "add it: mysql tiki < wikidb/schema/livechat_id.sql (as the wiki's own database user)"
		case "twoFactorSecret":
			todo = "Tiki 18 and later have it; upgrade the wiki, or add the column: ALTER TABLE users_users ADD twoFactorSecret VARCHAR(16) NULL"
		}
		d.say(verdictFail, "users_users has no column "+c+": every sign-in fails", todo)
	}
	if !slices.Contains(in.Missing, "livechat_id") && !in.LivechatIDUnique {
		d.say(verdictWarn, "users_users.livechat_id has no unique key: two accounts could claim one chat ID",
			"add it: ALTER TABLE users_users ADD UNIQUE KEY livechat_id (livechat_id) (wikidb/schema/livechat_id.sql)")
	}
	if len(in.Missing) > 0 {
		return ""
	}
	// What every sign-in and session reads besides users_users: a grant on
	// that table alone fails every password sign-in.
	if _, err := store.Prefs(ctx); err != nil {
		d.say(verdictFail, "cannot read the site preferences (tiki_preferences): "+oneLine(err)+": every sign-in fails",
			"grant SELECT on the whole wiki database: GRANT SELECT ON tiki.* TO the reader")
	}
	if _, err := store.Groups(ctx, 1); err != nil {
		d.say(verdictFail, "cannot read the wiki's groups (users_usergroups, tiki_group_inclusion): "+oneLine(err)+": the session API and room sync fail",
			"grant SELECT on the whole wiki database: GRANT SELECT ON tiki.* TO the reader")
	}
	d.say(verdictOK, fmt.Sprintf("%s; %d bcrypt, %d md5-crypt, %d legacy md5", accounts(in.Accounts),
		formats[provider.FormatBcrypt], formats[provider.FormatMD5Crypt], formats[provider.FormatMD5Hex]), "")
	if n := formats[provider.FormatDES]; n > 0 {
		d.say(verdictWarn, accounts(n)+" with a crypt-DES hash can never sign in (Tiki 17+ cannot verify them either)",
			"their users must reset their password in the wiki")
	}
	if n := formats[provider.FormatUnknown]; n > 0 {
		d.say(verdictWarn, accounts(n)+" with a stored hash of no known format can never sign in", "their users must reset their password in the wiki")
	}
	if n := formats[provider.FormatEmpty]; n > 0 {
		d.say(verdictOK, accounts(n)+" with no local password (OpenID or external sign-in): tokens only", "")
	}
	if in.WithoutLivechatID > 0 {
		d.say(verdictWarn, fmt.Sprintf("%s of %d without a livechat_id cannot chat until migrated", accounts(in.WithoutLivechatID), in.Accounts),
			"see docs/migration.md (livechat-auth ids plan)")
	}
	return in.SampleLivechatID
}

// accounts is "1 account" or "n accounts".
func accounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return strconv.Itoa(n) + " accounts"
}

// checkSocket checks the socket the extauth processes relay to, for this
// user.
func (d *doctor) checkSocket(cfg config.Config, cfgPath string, getenv func(string) string) {
	switch path := cfg.Extauth.DaemonSocket; path {
	case config.DaemonOff:
		d.say(verdictOK, "extauth decides in each process (extauth.daemon_socket: off): set ejabberd's extauth_pool_size: 1", "")
	case "":
		socket, err := autoSocket(cfgPath, getenv)
		if err != nil {
			d.say(verdictFail, "no private folder for the automatic extauth daemon: "+oneLine(err),
				"give this user a private runtime folder (systemd RuntimeDirectory=, or a HOME it owns), or set extauth.daemon_socket")
			return
		}
		d.say(verdictOK, "automatic extauth daemon socket: "+socket+" (folder "+modeOf(filepath.Dir(socket))+")", "")
	default:
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			d.say(verdictFail, "extauth.daemon_socket "+path+": "+oneLine(err), "start livechat-auth serve with the same extauth.daemon_socket first")
			return
		case fi.Mode().Type() != fs.ModeSocket:
			d.say(verdictFail, "extauth.daemon_socket "+path+" is not a socket", "remove it; serve makes the socket")
			return
		}
		c, err := net.DialTimeout("unix", path, 2*time.Second)
		if err != nil {
			d.say(verdictFail, "extauth.daemon_socket "+path+" ("+modeOf(path)+"): cannot connect: "+oneLine(err),
				"serve makes it mode 0660: give the chat server's user the socket's group")
			return
		}
		c.Close()
		d.say(verdictOK, "extauth.daemon_socket "+path+" answers ("+modeOf(path)+")", "")
	}
}

// modeOf describes a file's mode and owner.
func modeOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "unknown mode"
	}
	s := fmt.Sprintf("mode %04o", fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner, group := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		if g, err := user.LookupGroupId(group); err == nil {
			group = g.Name
		}
		s += ", " + owner + ":" + group
	}
	return s
}

// checkTokens loads the token keys.
func (d *doctor) checkTokens(ctx context.Context, cfg config.Config, log hclog.Logger) {
	if !cfg.Token.Enabled() {
		d.say(verdictOK, "tokens off (no token.* key): passwords only", "")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ts, err := openTokens(ctx, cfg.Token, log, buildOptions{requireJWKS: true})
	if err != nil {
		d.say(verdictFail, oneLine(err), "fix the key or secret named; livechat-auth keygen makes a signing key")
		return
	}
	what := "token keys load"
	if ts.minter != nil {
		what += "; tokens are minted with " + ts.minter.Algorithm()
	}
	d.say(verdictOK, what, "")
}

// checkRedis asks the shared Redis, when one is set.
func (d *doctor) checkRedis(ctx context.Context, cfg config.Config) {
	if !cfg.State.Enabled() {
		return
	}
	r, err := state.Open(state.Config{URL: string(cfg.State.RedisURL), Password: string(cfg.State.RedisPassword),
		CAFile: cfg.State.RedisCAFile, Prefix: cfg.State.KeyPrefix, Timeout: cfg.State.Timeout}, hclog.NewNullLogger())
	if err != nil {
		d.say(verdictFail, "state.redis_url: "+oneLine(err), "")
		return
	}
	defer r.Close()
	if err := r.Check(ctx); err != nil {
		d.say(verdictFail, oneLine(err), "check state.redis_url (host, port, password, TLS) and that Redis runs")
		return
	}
	d.say(verdictOK, "the shared Redis answers", "")
}

// checkMigration asks the chat server, as the migration API would,
// whether a name nobody has is an account: the answer must be no.
func (d *doctor) checkMigration(ctx context.Context, cfg config.Config, store *wikidb.Store) {
	if !cfg.Migration.Enabled {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var admin account.Login // not asked with migration.ejabberd_api_url
	if cfg.Migration.EjabberdAPIURL == "" {
		admin = openAdminLogin(ctx, cfg, store, hclog.NewNullLogger())
	}
	chat := migrationChat(cfg, admin)
	how := "migration.ejabberd_api_url"
	if chat.EjabberdAPI == "" {
		how = "rooms.jid as a server administrator (user-stats)"
	}
	exists, err := chat.Exists(ctx, "livechat-auth-doctor-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	switch {
	case err != nil:
		d.say(verdictFail, "migration: the chat server cannot tell which names are accounts through "+how+": "+oneLine(err),
			"ejabberd: mod_http_api with mod_admin_extra and api_permissions for check_account; Prosody: rooms.jid in admins, mod_admin_adhoc")
	case exists:
		d.say(verdictFail, "migration: the chat server says a name nobody has is an account, through "+how,
			"ejabberd answers user-stats for any name: set migration.ejabberd_api_url")
	default:
		d.say(verdictOK, "migration: the chat server tells which names are accounts ("+how+")", "")
	}
}

// checkExtauth asks isuser through the real extauth framing, as ejabberd
// does, of a process deciding alone (so that no daemon is started).
func (d *doctor) checkExtauth(ctx context.Context, cfgPath string, cfg config.Config, name string, getenv func(string) string) {
	if name == "" {
		d.say(verdictWarn, "no isuser check: no migrated account to ask about", "give --user NAME")
		return
	}
	exe, err := programPath()
	if err != nil {
		d.say(verdictWarn, "no isuser check: "+err.Error(), "")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := []string{"extauth"}
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET=off", "LIVECHAT_AUTH_LOG_LEVEL=off")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		d.say(verdictFail, "cannot start "+exe+" extauth: "+err.Error(), "check the program's path and mode as this user")
		return
	}
	req := "isuser:" + name + ":" + cfg.Domains[0]
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(req)))
	_, werr := in.Write(append(frame, req...))
	var reply [4]byte
	_, rerr := io.ReadFull(out, reply[:])
	in.Close()
	_ = cmd.Wait() // its exit status tells nothing more than the reply
	switch {
	case werr != nil || rerr != nil:
		d.say(verdictFail, fmt.Sprintf("extauth gave no answer to isuser %s@%s", name, cfg.Domains[0]), "run "+exe+" extauth --config FILE by hand as this user and read its log")
	case binary.BigEndian.Uint16(reply[2:]) == 1:
		d.say(verdictOK, fmt.Sprintf("extauth framing: isuser %s@%s answered yes", name, cfg.Domains[0]), "")
	default:
		d.say(verdictWarn, fmt.Sprintf("extauth framing works, but isuser %s@%s answered no", name, cfg.Domains[0]), "livechat-auth check --config FILE "+name+"@"+cfg.Domains[0]+" says why")
	}
}

// doctorAs runs the doctor as another user (root only), in a clean
// environment unless keepEnv, and then checks, as root, which of serve's
// secrets that user can read (unless it is serve's own user).
func doctorAs(ctx context.Context, name, cfgPath, serveCfg, probe string, keepEnv bool, stdout, stderr io.Writer, getenv func(string) string) int {
	u, err := user.Lookup(name)
	if err != nil {
		return fail(stderr, "doctor", fmt.Errorf("--as %s: %w", name, err))
	}
	if os.Geteuid() != 0 {
		return fail(stderr, "doctor", fmt.Errorf("--as %s: run as root (sudo livechat-auth doctor --as %s …) to check as another user", name, name))
	}
	if cfgPath != "" {
		if abs, err := filepath.Abs(cfgPath); err == nil {
			cfgPath = abs
		}
	}
	code := runAs(ctx, u, cfgPath, probe, keepEnv, stdout, stderr)
	if name == serveUser {
		return code
	}
	// The settings as the checks above read them: a chat server's service
	// starts with no LIVECHAT_AUTH_* variable, unless keepEnv.
	env := func(string) string { return "" }
	if keepEnv {
		env = getenv
	}
	d := &doctor{out: stdout}
	d.checkServeSecrets(u, cfgPath, serveCfg, env)
	return max(code, int(d.worst))
}

// runAs runs the doctor's checks in a process of user u and returns its
// exit code.
func runAs(ctx context.Context, u *user.User, cfgPath, probe string, keepEnv bool, stdout, stderr io.Writer) int {
	name := u.Username
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	exe, err := programPath()
	if err != nil {
		return fail(stderr, "doctor", err)
	}
	args := []string{"doctor"}
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	if probe != "" {
		args = append(args, "--user", probe)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	// A clean environment, as a chat server's service starts with: this
	// shell's variables are exactly what "works by hand" may lean on.
	cmd.Env = []string{"HOME=" + u.HomeDir, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "USER=" + name, "LOGNAME=" + name}
	if keepEnv {
		cmd.Env = os.Environ()
	}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if errors.Is(err, fs.ErrPermission) {
			return fail(stderr, "doctor", fmt.Errorf("--as %s: %s may not run %s: the program and every folder above it must be readable and searchable by that user", name, name, exe))
		}
		return fail(stderr, "doctor", fmt.Errorf("--as %s: %w", name, err))
	}
	return exitOK
}
