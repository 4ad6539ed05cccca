package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
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
	"livechat-auth/xmpp/extauthd"
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
	return extauthd.DaemonSocket(getenv, os.Getuid(), "extauth-"+settingsKey(cfgPath, getenv)+".sock")
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

// spawnDaemon starts the automatic daemon for socket: this very program,
// detached (extauthd.Spawn). Its logs go to log.file or a file beside
// the socket, never to the extauth process's stderr (ejabberd's pipe,
// which closes when ejabberd stops).
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
	return extauthd.Spawn(exe, args...)
}

// programPath is the program file as it was started (extauthd.ProgramPath).
func programPath() (string, error) { return extauthd.ProgramPath(os.Args[0]) }

// runDaemon is the automatic daemon (extauthd.Run): it answers the
// extauth relays of one configuration with one decision maker, which it
// builds afresh when the config file changes.
func runDaemon(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	hup := make(chan os.Signal, 1) // from the start: SIGHUP's default action ends the process
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
	release, err := extauthd.HoldPIDFile(ctx, *socket, 3*time.Second)
	if err != nil {
		log.Info("another daemon answers for these settings; exiting", "socket", *socket, "error", err)
		return exitOK
	}
	defer release()
	d := &autoDaemon{cfgPath: fs.Lookup("config").Value.String(), getenv: getenv, log: log}
	st, err := openSharedState(cfg, *socket, false, log, nil) // kept for the daemon's life, reloads included, and across restarts
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer st.Close()
	d.state = st
	if err := d.build(ctx, cfg); err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	defer func() { d.stop(); d.store.Close() }()
	exe, _ := programPath() // "": never seen as replaced
	err = extauthd.Run(ctx, &d.auth, lockKeeperLocks{&d.auth}, log, extauthd.DaemonConfig{
		Socket: *socket, Timeout: cfg.Extauth.RequestTimeout, Idle: daemonIdle,
		Settings: d.cfgPath, Program: exe, Hangup: hup, Reload: d.reload, Version: version,
	})
	if err != nil {
		log.Error("stopped", "error", err)
		return exitError
	}
	return exitOK
}

// autoDaemon is what the automatic daemon builds from its settings.
type autoDaemon struct {
	cfgPath string
	getenv  func(string) string
	log     hclog.Logger

	store *wikidb.Store
	state *sharedState // used tokens, failure counts (locks), verified passwords: kept across reloads
	auth  swappedAuth
	cfg   config.Config
	stop  func() // ends the running build's background work
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
// (state.*) changed, which a running daemon cannot take; the relays
// start a daemon of the new settings.
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
