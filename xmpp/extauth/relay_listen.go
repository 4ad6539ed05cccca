package extauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Activity tracks a daemon's relay connections and its last request, so
// that an idle daemon can tell when it may exit. The zero value is ready;
// it is safe for concurrent use.
type Activity struct {
	conns atomic.Int64
	last  atomic.Int64 // unix nanoseconds of the last connection or request end
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

// ServeListener answers extauth requests arriving on ln (the daemon side
// of a Relay), one goroutine per connection, until ctx ends: forwarded
// frames, or the streams a relay hands over (read and answered here, and
// handed back between two requests when ctx ends). It returns once every
// connection's goroutine has ended. Each
// decision's log line names the relay's process (relay_pid). act, when
// not nil, is told of connections.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, act *Activity) error {
	if act == nil {
		act = &Activity{}
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
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
			peer := *s
			if _, pid, err := PeerCredentials(conn); err == nil {
				peer.log = s.log.With("relay_pid", pid)
			}
			peer.log.Debug("relay connected")
			uc, ok := conn.(*net.UnixConn)
			if !ok {
				return
			}
			stopWait := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
			in, out, first, err := receiveHandoff(uc)
			if !stopWait() && err == nil { // stopping: let a relay that was handing over decide alone
				if in != nil {
					in.Close()
					out.Close()
				}
				return
			}
			switch {
			case err != nil:
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					peer.log.Warn("relay connection refused", "error", err)
				}
				return
			case in != nil:
				peer.serveHandedOff(ctx, conn, in, out)
				return
			}
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			if err := peer.Serve(ctx, io.MultiReader(bytes.NewReader(first), conn), conn); err != nil && ctx.Err() == nil {
				peer.log.Debug("relay connection ended", "error", err)
			}
		}()
	}
}
