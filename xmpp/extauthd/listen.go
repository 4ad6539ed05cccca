package extauthd

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
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
// can tell when it may exit and an operator which chat server processes
// are attached. The zero value is ready; it is safe for concurrent use.
type Activity struct {
	conns atomic.Int64
	last  atomic.Int64 // unix nanoseconds of the last connection's start or end

	mu     sync.Mutex
	relays map[*Attached]bool
}

// Attached is one relay connected to a daemon: the extauth process at
// its other end.
type Attached struct {
	PID   int       `json:"pid"` // 0: unknown
	UID   int       `json:"uid"`
	Since time.Time `json:"since"`
}

// Relays lists the relays connected now, the longest connected first.
func (a *Activity) Relays() []Attached {
	a.mu.Lock()
	out := make([]Attached, 0, len(a.relays))
	for r := range a.relays {
		out = append(out, *r)
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

func (a *Activity) attach(r *Attached) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.relays == nil {
		a.relays = map[*Attached]bool{}
	}
	a.relays[r] = true
}

func (a *Activity) detach(r *Attached) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.relays, r)
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
		relay := &Attached{Since: time.Now()}
		if uid, pid, err := PeerCredentials(conn); err == nil {
			relay.UID, relay.PID = uid, pid
		}
		act.attach(relay)
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() {
				act.detach(relay)
				act.touch()
				act.conns.Add(-1)
			}()
			defer conn.Close()
			serveRelay(ctx, conn, srv, relay.PID)
		}()
	}
}

// serveRelay answers one relay's frames on conn until it goes away or
// ctx ends. Then it shuts down the connection's reading side: a frame
// that arrived before is still read and answered, and the relay's next
// write fails at once (EPIPE), so that it knows this daemon decided
// nothing of it.
func serveRelay(ctx context.Context, conn net.Conn, srv *extauth.Server, pid int) {
	peer := srv
	if pid != 0 {
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
