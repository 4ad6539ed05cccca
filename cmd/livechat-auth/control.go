package main

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauthd"
)

// lockInfo is one account locked by the failure limit, as the control
// socket reports it (extauthd.Lock).
type lockInfo extauthd.Lock

// lockKeeper lists and clears the locks of the running decision maker.
type lockKeeper interface {
	locks() []lockInfo
	lockOf(user string) (lockInfo, bool)
	unlock(user string) bool
}

// lockKeeperLocks serves a lockKeeper on the control socket.
type lockKeeperLocks struct{ k lockKeeper }

func (l lockKeeperLocks) Locks() []extauthd.Lock {
	var out []extauthd.Lock
	for _, x := range l.k.locks() {
		out = append(out, extauthd.Lock(x))
	}
	return out
}

func (l lockKeeperLocks) LockOf(user string) (extauthd.Lock, bool) {
	x, ok := l.k.lockOf(user)
	return extauthd.Lock(x), ok
}

func (l lockKeeperLocks) Unlock(user string) bool { return l.k.unlock(user) }

// serveControl answers the operator's commands on the control socket at
// path with keeper's locks (extauthd.ServeControl).
func serveControl(ctx context.Context, path string, keeper lockKeeper, log hclog.Logger) error {
	return extauthd.ServeControl(ctx, path, lockKeeperLocks{keeper}, log)
}

// controlClient asks a daemon's control socket for locks and check.
type controlClient struct{ c *extauthd.ControlClient }

func (c controlClient) locks(ctx context.Context) ([]lockInfo, error) {
	all, err := c.c.Locks(ctx)
	out := make([]lockInfo, 0, len(all))
	for _, l := range all {
		out = append(out, lockInfo(l))
	}
	return out, err
}

func (c controlClient) lockOf(ctx context.Context, user string) (lockInfo, bool, error) {
	l, found, err := c.c.LockOf(ctx, user)
	return lockInfo(l), found, err
}

func (c controlClient) unlock(ctx context.Context, user string) (bool, error) {
	return c.c.Unlock(ctx, user)
}

// findControl returns a client for the control socket of the daemon that
// keeps the shared state of these settings: serve's
// (extauth.daemon_socket) or the automatic daemon's (extauthd.FindControl).
func findControl(cfg config.Config, cfgPath string, getenv func(string) string) (*controlClient, error) {
	switch s := cfg.Extauth.DaemonSocket; s {
	case config.DaemonOff:
		return nil, errors.New("extauth.daemon_socket is off: each extauth process keeps its own failure counts, which only restarting ejabberd clears")
	case "":
	default:
		return &controlClient{extauthd.NewControlClient(extauthd.ControlSocket(s))}, nil
	}
	c, err := extauthd.FindControl(extauthd.ControlSocket("extauth-"+settingsKey(cfgPath, getenv)+".sock"), getenv)
	if err != nil {
		return nil, err
	}
	return &controlClient{c}, nil
}
