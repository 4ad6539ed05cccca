package extauth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Relay is an extauth program that asks a long-lived daemon ("livechat-auth
// serve" on a Unix socket) instead of deciding itself, so that every
// process of ejabberd's pool shares one cache, one failure limit and one
// record of used tokens. While the daemon cannot be reached it decides
// locally with its fallback Server, and tries the daemon again after a
// pause.
type Relay struct {
	dial     func(ctx context.Context) (net.Conn, error)
	fallback *Server
	log      hclog.Logger
	timeout  time.Duration
	retry    time.Duration

	mu        sync.Mutex
	conn      net.Conn
	reader    *bufio.Reader
	downSince time.Time
}

// NewRelay returns a Relay dialing the daemon's Unix socket at path.
func NewRelay(path string, fallback *Server, log hclog.Logger, timeout time.Duration) (*Relay, error) {
	if path == "" || fallback == nil || log == nil || timeout <= 0 {
		return nil, errors.New("extauth: relay needs a socket path, a fallback server, a logger and a timeout")
	}
	var d net.Dialer
	return &Relay{
		dial:     func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", path) },
		fallback: fallback, log: log, timeout: timeout, retry: 5 * time.Second,
	}, nil
}

// Serve reads requests from r and writes one reply per request to w until
// r ends or ctx is done, as Server.Serve does.
func (rl *Relay) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	defer rl.closeConn()
	return serveFrames(ctx, r, w, rl.log, func(req Request) bool {
		yes, err := rl.ask(ctx, req)
		if err != nil {
			return rl.fallback.answer(ctx, req)
		}
		return yes
	})
}

// ask forwards one request to the daemon. An error means the daemon could
// not answer; the caller then decides locally. A connection that fails is
// replaced at once by a fresh one (the daemon may have restarted), and
// after a second failure the daemon is left alone for a pause.
func (rl *Relay) ask(ctx context.Context, req Request) (bool, error) {
	frame, err := AppendRequest(nil, req)
	if err != nil {
		return false, err
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for attempt := 0; ; attempt++ {
		fresh := rl.conn == nil
		if fresh {
			if attempt == 0 && !rl.downSince.IsZero() && time.Since(rl.downSince) < rl.retry {
				return false, errors.New("daemon unavailable")
			}
			if err := rl.connectLocked(ctx); err != nil {
				return false, err
			}
		}
		yes, err := rl.exchangeLocked(frame)
		if err == nil {
			return yes, nil
		}
		rl.dropLocked(err)
		if fresh || attempt > 0 {
			return false, err
		}
	}
}

func (rl *Relay) connectLocked(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	conn, err := rl.dial(dctx)
	cancel()
	if err != nil {
		if rl.downSince.IsZero() {
			rl.log.Warn("daemon unreachable; deciding locally until it is back", "error", err)
		}
		rl.downSince = time.Now()
		return err
	}
	if !rl.downSince.IsZero() {
		rl.log.Info("daemon reachable again")
	}
	rl.conn, rl.reader, rl.downSince = conn, bufio.NewReader(conn), time.Time{}
	return nil
}

func (rl *Relay) exchangeLocked(frame []byte) (bool, error) {
	_ = rl.conn.SetDeadline(time.Now().Add(rl.timeout)) // a failed deadline shows up as a failed read
	if _, err := rl.conn.Write(frame); err != nil {
		return false, err
	}
	return ReadReply(rl.reader)
}

func (rl *Relay) dropLocked(err error) {
	rl.log.Debug("daemon connection lost", "error", err)
	rl.conn.Close()
	rl.conn, rl.reader = nil, nil
	if rl.downSince.IsZero() {
		rl.downSince = time.Now()
	}
}

func (rl *Relay) closeConn() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.conn != nil {
		rl.conn.Close()
		rl.conn = nil
	}
}

// ServeListener answers extauth requests arriving on ln (the daemon side
// of a Relay), one goroutine per connection, until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
			if err := s.Serve(ctx, conn, conn); err != nil && ctx.Err() == nil {
				s.log.Debug("relay connection ended", "error", err)
			}
		}()
	}
}
