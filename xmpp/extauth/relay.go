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

	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

// ReasonTokenUnshared is the reason code of a token refused because the
// daemon holding the shared record of used tokens cannot be reached: a
// record kept by one process would let a token sign in once per process.
const ReasonTokenUnshared = string(provider.ReasonTokenUnshared)

// RelayConfig tunes a Relay.
type RelayConfig struct {
	// Socket is the daemon's Unix socket. Required.
	Socket string
	// Timeout is the budget of one request. Required.
	Timeout time.Duration
	// Tokens says that token sign-ins are accepted: while the daemon
	// cannot be reached, token-shaped passwords are then refused
	// (token-unshared) instead of decided locally.
	Tokens bool
	// Start, when set, is called when no daemon answers on socket, to
	// start one there; the relay then dials again. nil: wait for the
	// daemon to come back.
	Start func(ctx context.Context, socket string) error
	// Locate, when set, finds the socket afresh before each connection
	// (the automatic daemon's, see DaemonSocket), so that every process
	// of a pool goes where the others are, even when the place changed
	// since it started. Socket is the first answer.
	Locate func() (string, error)
	// Unshared, when set, says why no daemon may be asked at all (its
	// folder is unsafe): every request is then decided locally, tokens
	// refused. Socket is not needed.
	Unshared error
	// Handoff, when set, are the streams Serve reads and writes (the
	// process's stdin and stdout, from HandoffFiles): the relay hands
	// them to the daemon,
	// which then answers ejabberd directly, and takes them back when the
	// daemon lets go. nil: every request is forwarded over the socket.
	Handoff *Files
}

// Relay is an extauth program that asks a long-lived daemon (the
// automatic one, or "livechat-auth serve") on a Unix socket instead of
// deciding itself, so that every process of ejabberd's pool shares one
// cache, one failure limit and one record of used tokens. While the
// daemon cannot be reached it decides passwords locally with its
// fallback Server, refuses tokens, and tries the daemon again after a
// pause. With RelayConfig.Handoff it hands its streams to the daemon
// instead, so that a request costs no hop through this process.
type Relay struct {
	dial     func(ctx context.Context, path string) (net.Conn, error)
	locate   func() (string, error)
	fallback *Server
	log      hclog.Logger
	timeout  time.Duration
	retry    time.Duration
	tokens   bool
	start    func(ctx context.Context, socket string) error
	files    *Files // streams to hand to the daemon; nil: forward frames

	check       func(c net.Conn, path string) error // vets the daemon before it is trusted
	mu          sync.Mutex
	path        string // the daemon's socket
	conn        net.Conn
	reader      *bufio.Reader
	declined    bool // the daemon on conn does not take streams: forward frames to it
	framed      bool // conn has carried frames: a handoff needs a fresh connection
	downSince   time.Time
	warned      bool // the outage was reported
	tokenWarned bool // a token refusal of this outage was reported
}

// NewRelay returns a Relay dialing the daemon's Unix socket.
func NewRelay(fallback *Server, log hclog.Logger, cfg RelayConfig) (*Relay, error) {
	if (cfg.Socket == "" && cfg.Unshared == nil) || fallback == nil || log == nil || cfg.Timeout <= 0 {
		return nil, errors.New("extauth: relay needs a socket path, a fallback server, a logger and a timeout")
	}
	var d net.Dialer
	rl := &Relay{
		path:     cfg.Socket,
		locate:   cfg.Locate,
		check:    TrustedPeer,
		fallback: fallback, log: log, timeout: cfg.Timeout, retry: 5 * time.Second,
		tokens: cfg.Tokens, start: cfg.Start, files: cfg.Handoff,
	}
	rl.dial = func(ctx context.Context, path string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) }
	if cfg.Unshared != nil {
		rl.dial = func(context.Context, string) (net.Conn, error) { return nil, cfg.Unshared }
		rl.locate = nil
		rl.start, rl.warned = nil, true // the caller has said why, once
	}
	return rl, nil
}

// Serve reads requests from r and writes one reply per request to w until
// r ends or ctx is done, as Server.Serve does. With RelayConfig.Handoff
// (r and w must then be those files) the daemon reads and writes them
// itself while it runs; otherwise, and while it cannot, frames go to the
// daemon as they came, unparsed, and a request is decoded only when it
// must be decided here.
func (rl *Relay) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	defer rl.closeConn()
	answer := func(frame []byte) bool {
		yes, err := rl.ask(ctx, frame)
		if err == nil {
			return yes
		}
		return rl.decideHere(ctx, frame, err)
	}
	for ctx.Err() == nil {
		if rl.files != nil {
			switch rl.handOff(ctx) {
			case handoffInputEnded:
				return nil
			case handoffReturned:
				continue // the daemon may have restarted: offer the streams again
			}
		}
		// Forward (or decide) frames, until a daemon that may take the
		// streams is connected again between two requests.
		err := serveRawUntil(ctx, r, w, answer, rl.handoffDue)
		if !errors.Is(err, errHandoffDue) {
			return err
		}
	}
	return nil
}

// handoffDue reports whether a daemon that has not declined the streams
// is connected: the frame loop then stops to hand them over.
func (rl *Relay) handoffDue() bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.files != nil && rl.conn != nil && !rl.declined
}

// handOff hands the streams to the daemon (connecting, or starting one,
// as ask does) and waits while it answers for this process.
func (rl *Relay) handOff(ctx context.Context) handoffOutcome {
	rl.mu.Lock()
	if rl.conn != nil && rl.framed && !rl.declined {
		// The daemon reads a connection's first message as a handoff
		// or as the first of its frames: offer the streams on a new one.
		rl.conn.Close()
		rl.conn, rl.reader = nil, nil
	}
	if rl.conn == nil {
		if !rl.downSince.IsZero() && time.Since(rl.downSince) < rl.retry {
			rl.mu.Unlock()
			return handoffDeclined
		}
		if err := rl.connectLocked(ctx); err != nil {
			rl.mu.Unlock()
			return handoffDeclined
		}
	}
	if rl.declined {
		rl.mu.Unlock()
		return handoffDeclined
	}
	uc, ok := rl.conn.(*net.UnixConn)
	if !ok {
		rl.declined = true
		rl.mu.Unlock()
		return handoffDeclined
	}
	taken, err := sendHandoff(uc, rl.files, time.Second)
	switch {
	case err != nil:
		rl.dropLocked(err)
		rl.mu.Unlock()
		return handoffDeclined
	case !taken:
		rl.log.Debug("the daemon does not take streams; forwarding requests to it")
		rl.declined = true
		rl.mu.Unlock()
		return handoffDeclined
	}
	// The connection now only says when the daemon lets go.
	rl.conn, rl.reader = nil, nil
	rl.mu.Unlock()
	rl.log.Debug("streams handed to the daemon")
	return rl.whileHandedOff(ctx, uc)
}

// whileHandedOff waits while the daemon answers for this process on the
// streams handed to it over uc, and says how that ended.
func (rl *Relay) whileHandedOff(ctx context.Context, uc *net.UnixConn) handoffOutcome {
	// Should ejabberd close the pipe while a stalled daemon holds it,
	// stop waiting: the input has ended whatever the daemon says.
	watched := make(chan struct{})
	hungUp := make(chan struct{})
	go watchHangup(rl.files.In, watched, hungUp, func() { uc.Close() })
	inputEnded, err := awaitRelease(ctx, uc)
	close(watched)
	uc.Close()
	select {
	case <-hungUp:
		rl.log.Warn("ejabberd closed the pipe while the daemon held it; exiting")
		return handoffInputEnded
	default:
	}
	if inputEnded {
		return handoffInputEnded
	}
	rl.mu.Lock()
	rl.downSince = time.Now()    // a daemon that lets go is stopping: decide here for a pause
	rl.warned = ctx.Err() == nil // the outage is reported below; its end will be too
	rl.mu.Unlock()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		rl.log.Warn("daemon lost while answering for this process; deciding passwords locally until it is back", "error", err)
	default:
		rl.log.Info("the daemon handed the streams back; deciding passwords locally until it is back")
	}
	return handoffReturned
}

// decideHere answers a request the daemon did not answer (err says why).
func (rl *Relay) decideHere(ctx context.Context, frame []byte, err error) bool {
	req, perr := ParseRequest(frame[2:])
	if perr != nil {
		rl.log.Warn("malformed request", "reason", "bad-request", "error", perr)
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		// The daemon is up but did not answer in time (a slow
		// database): deciding again here would only be slower, and
		// could accept a token the daemon has already used.
		rl.log.Warn("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", "daemon-timeout")
		return false
	case rl.tokens && req.Command == CmdAuth && token.LooksLikeToken(req.Password):
		rl.refuseUnshared(req)
		return false
	}
	return rl.fallback.answer(ctx, req)
}

// refuseUnshared refuses a token while the shared record of used tokens
// is out of reach, warning once per outage.
func (rl *Relay) refuseUnshared(req Request) {
	rl.mu.Lock()
	first := !rl.tokenWarned
	rl.tokenWarned = true
	rl.mu.Unlock()
	if first {
		rl.log.Warn("refusing token sign-ins until the daemon is back: a used-token record of this process alone would let a token sign in again")
	}
	rl.log.Info("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", ReasonTokenUnshared)
}

// ask forwards one request frame to the daemon. An error means the daemon
// could not answer; the caller then decides locally. A connection that
// fails is replaced at once by a fresh one (the daemon may have
// restarted), and after a second failure the daemon is left alone for a
// pause.
func (rl *Relay) ask(ctx context.Context, frame []byte) (bool, error) {
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

// connectLocked dials the daemon and, when none answers and the relay
// may start one, starts it and dials again.
func (rl *Relay) connectLocked(ctx context.Context) error {
	if rl.locate != nil {
		if p, err := rl.locate(); err == nil {
			rl.path = p
		}
	}
	conn, err := rl.dialChecked(ctx)
	if err != nil && rl.start != nil && ctx.Err() == nil {
		if serr := rl.start(ctx, rl.path); serr != nil {
			err = fmt.Errorf("%w; starting one: %w", err, serr)
		} else {
			conn, err = rl.dialChecked(ctx)
		}
	}
	if err != nil {
		if !rl.warned {
			rl.log.Warn("daemon unreachable; deciding passwords locally until it is back", "error", err)
			rl.warned = true
		}
		rl.downSince = time.Now()
		return err
	}
	if rl.warned {
		rl.log.Info("daemon reachable again")
		rl.warned, rl.tokenWarned = false, false
	}
	rl.conn, rl.reader, rl.downSince, rl.declined, rl.framed = conn, bufio.NewReader(conn), time.Time{}, false, false
	return nil
}

func (rl *Relay) dialChecked(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	conn, err := rl.dial(dctx, rl.path)
	cancel()
	if err == nil && rl.check != nil {
		if err = rl.check(conn, rl.path); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, err
}

func (rl *Relay) exchangeLocked(frame []byte) (bool, error) {
	// The daemon has the same budget per request; allow for the trip.
	rl.framed = true
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

// PeerCredentials returns the user and process id of the other end of a
// Unix socket connection, as the kernel reports them.
func PeerCredentials(c net.Conn) (uid, pid int, err error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, 0, errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if credErr != nil {
		return 0, 0, fmt.Errorf("peer credentials: %w", credErr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// TrustedPeer accepts a daemon run by root, by this process's user, or by
// the owner of the socket's folder: anyone else who managed to bind the
// path (say, in a world-writable folder while serve was down) could
// otherwise answer "yes" to every sign-in.
func TrustedPeer(c net.Conn, path string) error {
	uid, _, err := PeerCredentials(c)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if uid == 0 || uid == os.Getuid() {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Dir(path), &st); err == nil && int(st.Uid) == uid && st.Uid != 0 {
		return nil
	}
	return fmt.Errorf("daemon runs as uid %d, which owns neither this process nor the socket's folder: not trusted", uid)
}
