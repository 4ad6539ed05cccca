package extauthd

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"livechat-auth/xmpp/extauth"
)

// Listen listens on the Unix socket path with the given mode (0600: this
// user only; 0660: its group too), replacing a stale socket left by a
// daemon that died. Anything else at path is an error.
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	// The socket is made with no more than mode allows, so that no one
	// else can connect before the chmod below.
	old := syscall.Umask(int(^mode & 0o777))
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Activity tracks a daemon's relay connections, so that an idle daemon
// can tell when it may exit. The zero value is ready; it is safe for
// concurrent use.
type Activity struct {
	conns atomic.Int64
	last  atomic.Int64 // unix nanoseconds of the last connection's start or end
}

// touch records activity now.
func (a *Activity) touch() { a.last.Store(time.Now().UnixNano()) }

// IdleFor returns how long no relay has been connected, or 0 while one
// is.
func (a *Activity) IdleFor(now time.Time) time.Duration {
	if a.conns.Load() > 0 {
		return 0
	}
	last := a.last.Load()
	if last == 0 {
		a.last.CompareAndSwap(0, now.UnixNano())
		return 0
	}
	return now.Sub(time.Unix(0, last))
}

// ServeRelays answers the relays connecting on ln with srv, one
// goroutine per connection, each reading forwarded frames and writing
// replies with extauth.Serve, until ctx ends. Then it stops accepting,
// stops reading, answers the requests already sent (with a context not
// cancelled by ctx, within srv's budget), closes each connection, and
// returns once every connection's goroutine has ended. Each decision's log line names the relay's process
// (relay_pid). act, when not nil, is told of connections.
func ServeRelays(ctx context.Context, ln net.Listener, srv *extauth.Server, act *Activity) error {
	if act == nil {
		act = &Activity{}
	}
	stopAccepting := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopAccepting()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		act.conns.Add(1)
		act.touch()
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() {
				act.touch()
				act.conns.Add(-1)
			}()
			defer conn.Close()
			serveRelay(ctx, conn, srv)
		}()
	}
}

// serveRelay answers one relay's frames on conn until it goes away or
// ctx ends. Then it shuts down the connection's reading side: a frame
// that arrived before is still read and answered, and the relay's next
// write fails at once (EPIPE), so that it knows this daemon decided
// nothing of it.
func serveRelay(ctx context.Context, conn net.Conn, srv *extauth.Server) {
	peer := srv
	if _, pid, err := PeerCredentials(conn); err == nil {
		peer = srv.With("relay_pid", pid)
	}
	stop := context.AfterFunc(ctx, func() {
		if c, ok := conn.(interface{ CloseRead() error }); ok && c.CloseRead() == nil {
			return
		}
		_ = conn.SetReadDeadline(time.Unix(1, 0)) // ends the wait for the next request
	})
	defer stop()
	// The relay went away, or stopped mid-frame: it decides that
	// request itself. Nothing is left to say to it.
	_ = extauth.Serve(context.WithoutCancel(ctx), conn, conn, peer)
}
