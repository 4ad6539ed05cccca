package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/token"
	"livechat-auth/status"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauth"
	"livechat-auth/xmpp/extauthd"
)

// daemonIdle is how long the automatic daemon lives on with no relay
// connected: past the longest token lifetime and its clock skew, every
// token it has seen has expired, so exiting forgets nothing that matters.
const daemonIdle = token.MaxLifetime + token.IssuedAtSkew + 3*time.Minute

// DaemonOptions are what the automatic daemon is started with besides its
// first settings.
type DaemonOptions struct {
	Path   string              // the config file, read again on each reload
	Getenv func(string) string // the LIVECHAT_AUTH_* overrides
	Socket string              // the relay socket to answer on (app.AutoSocket)
	Hangup <-chan os.Signal    // each value reloads the settings
}

// RunDaemon is the automatic extauth daemon (extauthd.Run): it answers
// the extauth relays of one configuration with one decision maker, which
// it builds afresh when the config file changes or on SIGHUP, until no
// relay has been connected for a while. With extauth.listen it serves its
// Prometheus metrics and its status page there. It returns nil at once
// when another daemon answers for these settings. Errors are logged.
func RunDaemon(ctx context.Context, cfg config.Config, opts DaemonOptions, log hclog.Logger) error {
	release, err := extauthd.HoldPIDFile(ctx, opts.Socket, 3*time.Second)
	if err != nil {
		log.Info("another daemon answers for these settings; exiting", "socket", opts.Socket, "error", err)
		return nil
	}
	defer release()
	d := &autoDaemon{opts: opts, log: log, m: newMetrics(), reloads: newReloads(opts.Path)}
	// The state is kept for the daemon's life, reloads included, and
	// across restarts (its record of used tokens is a file).
	if d.state, err = app.OpenState(cfg, opts.Socket, false, log, nil); err != nil {
		log.Error("cannot start", "error", err)
		return err
	}
	defer d.state.Close()
	if err := d.build(ctx, cfg); err != nil {
		log.Error("cannot start", "error", err)
		return err
	}
	d.gen = 1
	d.m.series.Generation(1)
	defer func() { d.stop(); d.store.Close() }()
	relays := &extauthd.Activity{}
	if cfg.Extauth.Listen != "" {
		d.listen(ctx, cfg, relays)
	}
	exe, _ := extauthd.ProgramPath(os.Args[0]) // "": never seen as replaced
	err = extauthd.Run(ctx, &d.auth, &d.auth, log, extauthd.DaemonConfig{
		Socket: opts.Socket, Timeout: cfg.Extauth.RequestTimeout, Idle: daemonIdle,
		Settings: opts.Path, Program: exe, Hangup: opts.Hangup, Reload: d.reload, Version: app.ReadBuild().Version,
		Observe:  d.m.observer("extauth", extauth.CmdAuth, extauth.CmdIsUser, extauth.CmdMalformed),
		Activity: relays,
	})
	if err != nil {
		log.Error("stopped", "error", err)
	}
	return err
}

// autoDaemon is what the automatic daemon builds from its settings.
type autoDaemon struct {
	opts DaemonOptions
	log  hclog.Logger

	store *wikidb.Store
	state *app.State // used tokens, failure counts (locks), verified passwords: kept across reloads
	auth  swappedAuth
	cfg   config.Config
	stop  func() // ends the running build's background work

	m       *metrics
	reloads *reloads
	gen     int                           // the settings' generation: 1 at start
	running atomic.Pointer[daemonRunning] // what the status page reads
}

// daemonsOwn is cfg as the daemon answering on socket runs it: its relay
// socket, and nothing of what only serve does (the HTTP edges, room sync,
// ending sessions), so that its page shows none of that as its own.
func daemonsOwn(cfg config.Config, socket string) config.Config {
	cfg.Extauth.DaemonSocket = socket
	cfg.HTTPAuth = config.HTTPAuth{}
	cfg.Session.Key = ""
	cfg.Migration.Enabled = false
	cfg.Proxy = config.Proxy{}
	cfg.Rooms.Rules = nil
	cfg.EndSessions.Enabled = false
	return cfg
}

// daemonRunning is the running build, as the status page reads it.
type daemonRunning struct {
	cfg   config.Config
	auth  *provider.Authenticator
	store *wikidb.Store
}

// listen serves the daemon's metrics and status page on extauth.listen
// until ctx ends. A listener it cannot open is logged, not fatal: the
// sign-ins matter more.
func (d *autoDaemon) listen(ctx context.Context, cfg config.Config, relays *extauthd.Activity) {
	log := d.log.Named("status")
	page := &pageSource{process: "automatic extauth daemon", m: d.m, degraded: d.state.Degraded, relays: relays, reloads: d.reloads, started: time.Now(),
		running: func() (config.Config, *provider.Authenticator, *wikidb.Store) {
			r := d.running.Load()
			return r.cfg, r.auth, r.store
		}}
	page.serveOn(ctx, cfg, d.opts.Socket, log)
}

// pageRetry is how often a listener that was taken is tried again.
const pageRetry = 5 * time.Second

// serveOn serves the metrics and the status page of an extauth decision
// maker (the automatic daemon, or a process deciding alone) on
// extauth.listen until ctx ends; socket is its relay socket, "" none.
// When the address is taken (the process it replaces has not let go of
// it yet, or another configuration's has it) it says so once and tries
// again every pageRetry, in the background: the sign-ins matter more,
// and the decisions are counted meanwhile.
func (p *pageSource) serveOn(ctx context.Context, cfg config.Config, socket string, log hclog.Logger) {
	ln, err := net.Listen("tcp", cfg.Extauth.Listen)
	if err != nil {
		log.Warn("no metrics or status page yet; trying again every "+pageRetry.String(), "error", fmt.Errorf("extauth.listen: %w", err))
		go func() {
			t := time.NewTicker(pageRetry)
			defer t.Stop()
			for ln == nil {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					ln, _ = net.Listen("tcp", cfg.Extauth.Listen)
				}
			}
			p.serveHTTP(ctx, cfg, ln, socket, log)
		}()
		return
	}
	p.serveHTTP(ctx, cfg, ln, socket, log)
}

// serveHTTP serves the page on ln.
func (p *pageSource) serveHTTP(ctx context.Context, cfg config.Config, ln net.Listener, socket string, log hclog.Logger) {
	snapshot := func(ctx context.Context) status.Snapshot {
		in := p.input()
		in.Config = daemonsOwn(in.Config, socket)
		return in.Snapshot(ctx)
	}
	h := p.handler(cfg, []string{cfg.Extauth.Listen, ln.Addr().String()}, snapshot, nil, p.m.series.Handler(), log)
	serveHTTPOn(ctx, ln, h, log, "metrics and status page")
	log.Info("metrics and status page", "addr", ln.Addr().String())
}

// ServeAlone serves, for an extauth process deciding alone
// (extauth.daemon_socket: off), its metrics and status page on
// extauth.listen until ctx ends, and returns the observer its decisions
// must go through; nil when extauth.listen is not set.
// With ejabberd's extauth_pool_size: 1, as "off" wants, that process is
// the one place to look; with more, the first to start takes the
// listener and the others log that they cannot, and try again.
func ServeAlone(ctx context.Context, cfg config.Config, auth *provider.Authenticator, store *wikidb.Store, log hclog.Logger) provider.Observer {
	if cfg.Extauth.Listen == "" {
		return nil
	}
	log = log.Named("status")
	m := newMetrics()
	m.series.Generation(1)
	started := time.Now()
	p := &pageSource{process: fmt.Sprintf("extauth process %d, deciding alone", os.Getpid()), m: m, reloads: newReloads(""), started: started,
		self:     []status.Attached{{What: "ejabberd, on this process's stdin", PID: os.Getppid(), Since: started}},
		degraded: func(context.Context) error { return nil },
		running:  func() (config.Config, *provider.Authenticator, *wikidb.Store) { return cfg, auth, store }}
	p.serveOn(ctx, cfg, "", log)
	return m.observer("extauth", extauth.CmdAuth, extauth.CmdIsUser, extauth.CmdMalformed)
}

// build makes the decision maker of cfg (and opens the wiki store when
// it has none or the wiki settings changed) and swaps it in.
func (d *autoDaemon) build(ctx context.Context, cfg config.Config) error {
	store := d.store
	if store == nil || cfg.Wiki != d.cfg.Wiki {
		var err error
		if store, err = app.OpenStore(cfg.Wiki); err != nil {
			return err
		}
	}
	bctx, stop := context.WithCancel(ctx)
	auth, _, err := app.NewAuthenticator(bctx, cfg, store, d.log, d.state.Options())
	if err != nil {
		stop()
		if store != d.store {
			store.Close()
		}
		return err
	}
	d.auth.p.Store(auth)
	d.running.Store(&daemonRunning{cfg: cfg, auth: auth, store: store})
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
	prev := d.cfg
	next, err := config.Load(d.opts.Path, d.opts.Getenv)
	if err == nil {
		err = next.Validate()
	}
	if err == nil {
		// What the daemon opened at start with these settings: it cannot
		// take them while it runs, and the relays start a new one at once.
		var changed []string
		if next.State != d.cfg.State {
			changed = append(changed, "state.*")
		}
		if next.Extauth.Listen != d.cfg.Extauth.Listen || next.Status != d.cfg.Status {
			changed = append(changed, "extauth.listen or status.* (its page)")
		}
		if len(changed) > 0 {
			d.log.Info("settings the daemon opened at start changed; stopping so that a daemon of the new settings takes over", "changed", strings.Join(changed, ", "))
			return true
		}
	}
	if err == nil {
		err = d.build(ctx, next)
	}
	if err != nil {
		d.m.series.Reload(false)
		d.reloads.refused(err)
		d.log.Error("reload refused; keeping the running settings", "generation", d.gen, "error", config.OneLine(err))
		return false
	}
	d.m.series.Reload(true)
	d.gen++
	d.m.series.Generation(d.gen)
	d.reloads.taken(d.gen, config.ChangedSections(prev, next))
	d.log.Info("reloaded settings and keys", "generation", d.gen)
	return false
}

// swappedAuth is the decision maker of the running settings, swapped on
// reload; the relays and the control socket ask through it.
type swappedAuth struct {
	p atomic.Pointer[provider.Authenticator]
}

func (c *swappedAuth) Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error) {
	return c.p.Load().Authenticate(ctx, user, domain, password)
}

func (c *swappedAuth) UserExists(ctx context.Context, user, domain string) (bool, error) {
	return c.p.Load().UserExists(ctx, user, domain)
}

func (c *swappedAuth) Locks() []provider.Lock { return c.p.Load().Locks() }

func (c *swappedAuth) LockOf(user string) (provider.Lock, bool) { return c.p.Load().LockOf(user) }

func (c *swappedAuth) Unlock(user string) bool { return c.p.Load().Unlock(user) }
