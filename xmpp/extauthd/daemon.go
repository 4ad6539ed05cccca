package extauthd

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/xmpp/extauth"
)

// DaemonConfig describes an automatic daemon (see Run).
type DaemonConfig struct {
	// Socket is the relay socket, an absolute path; the control socket
	// is made beside it (ControlSocket). Required.
	Socket string
	// Timeout is the budget of each request. Required.
	Timeout time.Duration
	// Idle is how long the daemon lives on with no relay connected.
	// Required.
	Idle time.Duration
	// Settings is the settings file the daemon follows: Reload is called
	// when it changes (checked every 2 s). "": none.
	Settings string
	// Program is the daemon's program file: when it is replaced (an
	// upgrade) the daemon stops, so that the relays start the new one.
	// "": never.
	Program string
	// Hangup delivers SIGHUP: Reload is called. nil: none.
	Hangup <-chan os.Signal
	// Reload reads the settings again and swaps what the daemon's
	// Authenticator decides with, or keeps the running ones (and logs
	// why). It returns true when the daemon must stop instead, for a
	// daemon of the new settings to take over. nil: nothing to reload.
	Reload func(ctx context.Context) (restart bool)
	// Version is logged at start.
	Version string
	// Observe is told of every decision; nil: none.
	Observe provider.Observer
	// Activity is told of the relays; nil: a fresh one.
	Activity *Activity
}

// Run is the automatic daemon's life: it answers the relays of one
// configuration on cfg.Socket (mode 0600) with auth, and serves the
// operator's commands on the control socket with locks, until ctx ends,
// no relay has been connected for cfg.Idle, cfg.Program is replaced or
// cfg.Reload asks it to stop. Then it stops accepting, answers the
// requests under way, lets every relay go between two requests, and
// returns. Hold the pid file (HoldPIDFile) before calling it.
func Run(ctx context.Context, auth extauth.Authenticator, locks Locks, log hclog.Logger, cfg DaemonConfig) error {
	switch {
	case cfg.Socket == "" || cfg.Timeout <= 0 || cfg.Idle <= 0:
		return errors.New("extauthd: a daemon needs a socket, a request timeout and an idle time")
	case auth == nil || locks == nil || log == nil:
		return errors.New("extauthd: a daemon needs an authenticator, locks and a logger")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := extauth.New(auth, log, cfg.Timeout)
	if err != nil {
		return err
	}
	if cfg.Observe != nil {
		srv.Observe(cfg.Observe)
	}
	ln, err := Listen(cfg.Socket, 0o600)
	if err != nil {
		return err
	}
	if err := ServeControl(ctx, ControlSocket(cfg.Socket), locks, log.Named("control")); err != nil {
		ln.Close()
		return err
	}
	act := cfg.Activity
	if act == nil {
		act = &Activity{}
	}
	served := make(chan error, 1)
	go func() { served <- ServeRelays(ctx, ln, srv, act) }()
	log.Info("answering extauth relays", "socket", cfg.Socket, "pid", os.Getpid(), "version", cfg.Version)

	stop := func(msg string, args ...any) error {
		if msg != "" {
			log.Info(msg, args...)
		}
		cancel()
		return <-served // the relays decide alone meanwhile, and start the next daemon
	}
	reload := func() bool { return cfg.Reload != nil && cfg.Reload(ctx) }
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	settings, program, socket := stampOf(cfg.Settings), stampOf(cfg.Program), stampOf(cfg.Socket)
	for {
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
			<-served
			log.Info("stopped")
			return nil
		case <-cfg.Hangup:
			if reload() {
				return stop("") // Reload said why
			}
		case now := <-tick.C:
			if s := stampOf(cfg.Settings); s != settings {
				settings = s
				if reload() {
					return stop("") // Reload said why
				}
			}
			if s := stampOf(cfg.Socket); s.size < 0 || s.ino != socket.ino {
				// A cleaner of the folder, or a hand: new relays could not
				// reach this daemon, and it could not go idle while the
				// old ones stay.
				return stop("the socket file was removed or replaced; stopping so that the relays start a daemon anew", "socket", cfg.Socket)
			}
			if s := stampOf(cfg.Program); s.size >= 0 && s != program {
				return stop("the program file was replaced; stopping so that the new one takes over", "path", cfg.Program)
			}
			if idle := act.IdleFor(now); idle > cfg.Idle {
				return stop("no relay for a while; exiting", "idle", idle.Round(time.Second))
			}
		}
	}
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	size  int64 // -1: the file could not be read
	mtime time.Time
	ino   uint64
}

// stampOf returns path's stamp; the zero stamp for "".
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
