package extauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
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

	check     func(net.Conn) error // vets the daemon before it is trusted
	mu        sync.Mutex
	conn      net.Conn
	reader    *bufio.Reader
	downSince time.Time
	warned    bool
}

// NewRelay returns a Relay dialing the daemon's Unix socket at path.
func NewRelay(path string, fallback *Server, log hclog.Logger, timeout time.Duration) (*Relay, error) {
	if path == "" || fallback == nil || log == nil || timeout <= 0 {
		return nil, errors.New("extauth: relay needs a socket path, a fallback server, a logger and a timeout")
	}
	var d net.Dialer
	return &Relay{
		dial:     func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", path) },
		check:    func(c net.Conn) error { return trustedPeer(c, path) },
		fallback: fallback, log: log, timeout: timeout, retry: 5 * time.Second,
	}, nil
}

// Serve reads requests from r and writes one reply per request to w until
// r ends or ctx is done, as Server.Serve does.
func (rl *Relay) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	defer rl.closeConn()
	return serveFrames(ctx, r, w, rl.log, func(req Request) bool {
		yes, err := rl.ask(ctx, req)
		var ne net.Error
		switch {
		case err == nil:
			return yes
		case errors.As(err, &ne) && ne.Timeout():
			// The daemon is up but did not answer in time (a slow
			// database): deciding again here would only be slower, and
			// could accept a token the daemon has already used.
			rl.log.Warn("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", "daemon-timeout")
			return false
		}
		return rl.fallback.answer(ctx, req)
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
		var ne net.Error
		if fresh || attempt > 0 || (errors.As(err, &ne) && ne.Timeout()) {
			return false, err // a timeout is not retried: the daemon may have decided
		}
	}
}

func (rl *Relay) connectLocked(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	conn, err := rl.dial(dctx)
	cancel()
	if err == nil && rl.check != nil {
		if err = rl.check(conn); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		if !rl.warned {
			rl.log.Warn("daemon unreachable; deciding locally until it is back", "error", err)
			rl.warned = true
		}
		rl.downSince = time.Now()
		return err
	}
	if rl.warned {
		rl.log.Info("daemon reachable again")
		rl.warned = false
	}
	rl.conn, rl.reader, rl.downSince = conn, bufio.NewReader(conn), time.Time{}
	return nil
}

func (rl *Relay) exchangeLocked(frame []byte) (bool, error) {
	// The daemon has the same budget per request; allow for the trip.
	_ = rl.conn.SetDeadline(time.Now().Add(rl.timeout + 500*time.Millisecond)) // a failed deadline shows up as a failed read
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

// trustedPeer accepts a daemon run by root, by this process's user, or by
// the owner of the socket's folder: anyone else who managed to bind the
// path (say, in a world-writable folder while serve was down) could
// otherwise answer "yes" to every sign-in.
func trustedPeer(c net.Conn, path string) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("daemon: not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("daemon credentials: %w", credErr)
	}
	if cred.Uid == 0 || int(cred.Uid) == os.Getuid() {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Dir(path), &st); err == nil && st.Uid == cred.Uid && st.Uid != 0 {
		return nil
	}
	return fmt.Errorf("daemon runs as uid %d, which owns neither this process nor the socket's folder: not trusted", cred.Uid)
}
