package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauth"
)

// daemonCommand is the hidden subcommand an extauth process starts when
// no daemon answers for its settings.
const daemonCommand = "extauth-daemon"

// daemonIdle is how long the automatic daemon lives on with no relay
// connected: past the longest token lifetime and its clock skew, every
// token it has seen has expired, so exiting forgets nothing that matters.
const daemonIdle = token.MaxLifetime + token.IssuedAtSkew + 3*time.Minute

// autoSocket returns the relay socket of the automatic daemon for these
// settings, in the user's private folder. Its name is derived from the
// config file's real path (symbolic links resolved) and every
// LIVECHAT_AUTH_* override except log.*,
// so that two configurations never share a daemon.
func autoSocket(cfgPath string, getenv func(string) string) (string, error) {
	return extauth.DaemonSocket(getenv, os.Getuid(), "extauth-"+settingsKey(cfgPath, getenv)+".sock")
}

// settingsKey identifies a configuration: its file and its overrides.
func settingsKey(cfgPath string, getenv func(string) string) string {
	h := sha256.New()
	if cfgPath != "" {
		if abs, err := filepath.Abs(cfgPath); err == nil {
			cfgPath = abs
		}
		if real, err := filepath.EvalSymlinks(cfgPath); err == nil {
			cfgPath = real // a link and the file it names are one configuration
		}
		fmt.Fprintf(h, "config=%s\n", cfgPath)
	}
	for _, name := range config.EnvNames() {
		if strings.HasPrefix(name, config.EnvPrefix+"LOG_") {
			continue // where and how much to log does not change a decision
		}
		if v := getenv(name); v != "" {
			fmt.Fprintf(h, "%s=%s\n", name, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// spawnDaemon starts the automatic daemon for socket: this very binary,
// in its own session, with nothing inherited but the environment. Its
// logs go to log.file or a file beside the socket, never to the extauth
// process's stderr (ejabberd's pipe, which closes when ejabberd stops).
func spawnDaemon(cfgPath, socket string) error {
	exe, err := programPath()
	if err != nil {
		return err
	}
	args := []string{daemonCommand, "--socket", socket}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return err
		}
		args = append(args, "--config", abs)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // stdin, stdout and stderr: /dev/null
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it should it exit while we run; it reports in its own log
	return nil
}

// programPath is the program file as it was started: its absolute path
// as given or as found through PATH (through a symbolic link, if that is
// how it was named, so that an upgrade that points the link elsewhere is
// seen), else the running executable.
func programPath() (string, error) {
	switch arg := os.Args[0]; {
	case filepath.IsAbs(arg):
		return arg, nil
	case !strings.Contains(arg, "/"):
		if p, err := exec.LookPath(arg); err == nil && filepath.IsAbs(p) {
			return p, nil // found through PATH, as the shell found it
		}
	}
	return os.Executable()
}

// runDaemon is the automatic daemon: it answers the extauth relays of
// one configuration on a Unix socket with one decision maker, follows
// changes of the config file, exits once idle for daemonIdle, and exits
// when its program file is replaced (an upgrade), so that the relays
// start the new program.
func runDaemon(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet(daemonCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "the relay socket to answer on")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, daemonCommand, err)
	}
	if *socket == "" || !filepath.IsAbs(*socket) {
		return fail(stderr, daemonCommand, fmt.Errorf("--socket: an absolute path is required"))
	}
	logCfg := cfg.Log
	if logCfg.File == "" {
		logCfg.File = strings.TrimSuffix(*socket, ".sock") + ".log"
	}
	log, closeLog, err := newLogger(logCfg, stderr)
	if err != nil {
		return fail(stderr, daemonCommand, err)
	}
	defer closeLog()
	log = log.Named("extauth-daemon")
	release, err := extauth.HoldPIDFile(ctx, *socket, 3*time.Second)
	if err != nil {
		log.Info("another daemon answers for these settings; exiting", "socket", *socket, "error", err)
		return exitOK
	}
	defer release()
	d := &autoDaemon{cfgPath: fs.Lookup("config").Value.String(), socket: *socket, getenv: getenv, log: log}
	if err := d.run(ctx, cfg); err != nil {
		log.Error("stopped", "error", err)
		return exitError
	}
	return exitOK
}

// autoDaemon is the state of a running automatic daemon.
type autoDaemon struct {
	cfgPath string
	socket  string
	getenv  func(string) string
	log     hclog.Logger

	store *wikidb.Store
	state *sharedState // used tokens, failure counts (locks), verified passwords: kept across reloads
	auth  swappedAuth
	cfg   config.Config
	stop  func() // ends the running build's background work
	stamp fileStamp
}

func (d *autoDaemon) run(ctx context.Context, cfg config.Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := openSharedState(cfg, d.socket, false, d.log, nil) // kept for the daemon's life, reloads included, and across restarts
	if err != nil {
		return err
	}
	defer st.Close()
	d.state = st
	d.stamp = stampOf(d.cfgPath)
	if err := d.build(ctx, cfg); err != nil {
		return err
	}
	defer func() { d.stop(); d.store.Close() }()
	ln, err := listenPrivate(d.socket)
	if err != nil {
		return err
	}
	srv, err := extauth.New(&d.auth, d.log, cfg.Extauth.RequestTimeout)
	if err != nil {
		ln.Close()
		return err
	}
	if err := serveControl(ctx, extauth.ControlSocket(d.socket), &d.auth, d.log.Named("control")); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	var act extauth.Activity
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(ctx, ln, &act) }()
	d.log.Info("answering extauth relays", "socket", d.socket, "pid", os.Getpid(), "version", version)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	exe, _ := programPath() // "": never seen as replaced
	exeStamp := stampOf(exe)
	for {
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
			<-served // the relays' streams go back to them between two requests
			d.log.Info("stopped")
			return nil
		case <-hup:
			if d.reload(ctx) {
				cancel()
				return <-served
			}
		case now := <-tick.C:
			if s := stampOf(d.cfgPath); s != d.stamp {
				d.stamp = s
				if d.reload(ctx) {
					cancel()
					return <-served
				}
			}
			if s := stampOf(exe); s.size >= 0 && s != exeStamp {
				// An upgrade: the relays take their streams back and,
				// after their pause, start the new program.
				d.log.Info("the program file was replaced; stopping so that the new one takes over", "path", exe)
				cancel()
				return <-served
			}
			if idle := act.IdleFor(now); idle > daemonIdle {
				d.log.Info("no relay for a while; exiting", "idle", idle.Round(time.Second))
				cancel()
				return <-served
			}
		}
	}
}

// build makes the decision maker of cfg (and opens the wiki store when
// it has none or the wiki settings changed) and swaps it in.
func (d *autoDaemon) build(ctx context.Context, cfg config.Config) error {
	store := d.store
	if store == nil || cfg.Wiki != d.cfg.Wiki {
		var err error
		store, err = wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{
			QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: cfg.Wiki.MaxOpenConns, PrefsRefresh: cfg.Wiki.PrefsRefresh,
			AccountCache: cfg.Wiki.AccountCache,
		})
		if err != nil {
			return err
		}
	}
	bctx, stop := context.WithCancel(ctx)
	auth, _, err := newAuthenticator(bctx, cfg, store, d.log, d.state.options())
	if err != nil {
		stop()
		if store != d.store {
			store.Close()
		}
		return err
	}
	d.auth.p.Store(auth)
	if d.stop != nil {
		d.stop()
	}
	if d.store != nil && store != d.store {
		d.store.Close() // waits for the queries under way
	}
	d.store, d.stop, d.cfg = store, stop, cfg
	return nil
}

// reload re-reads the settings; invalid ones are logged and the running
// ones kept. The record of used tokens is kept either way. It reports
// whether the daemon must stop instead: the shared state's settings
// (state.*) changed, which a running daemon cannot take; the relays take
// their streams back and start a daemon of the new settings.
func (d *autoDaemon) reload(ctx context.Context) (restart bool) {
	next, err := config.Load(d.cfgPath, d.getenv)
	if err == nil {
		err = next.Validate()
	}
	if err == nil && next.State != d.cfg.State {
		d.log.Info("state.* changed; stopping so that a daemon of the new settings takes over")
		return true
	}
	if err == nil {
		err = d.build(ctx, next)
	}
	if err != nil {
		d.log.Error("reload refused; keeping the running settings", "error", err)
		return false
	}
	d.log.Info("reloaded settings and keys")
	return false
}

// swappedAuth is the decision maker of the running settings, swapped on
// reload; the relays ask through it.
type swappedAuth struct {
	p atomic.Pointer[provider.Authenticator]
}

func (c *swappedAuth) Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error) {
	return c.p.Load().Authenticate(ctx, user, domain, password)
}

func (c *swappedAuth) UserExists(ctx context.Context, user, domain string) (bool, error) {
	return c.p.Load().UserExists(ctx, user, domain)
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(path string) fileStamp {
	if path == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{size: -1}
	}
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// listenPrivate listens on a Unix socket only this user may connect to,
// replacing a stale socket left by a daemon that died.
func listenPrivate(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	return ln, os.Chmod(path, 0o600)
}
