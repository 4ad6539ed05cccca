package extauthd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider/token"
	"livechat-auth/xmpp/extauth"
)

// RelayConfig tunes a Relay.
type RelayConfig struct {
	// Socket is the daemon's Unix socket. Required unless Unshared.
	Socket string
	// Timeout is the budget of one request. Required.
	Timeout time.Duration
	// Tokens says that token sign-ins are accepted: while the daemon
	// cannot be asked, token-shaped passwords are then refused
	// (token-unshared) instead of decided locally.
	Tokens bool
	// Start, when set, is called when no daemon answers on socket, to
	// start one there (AutoStart); the relay then dials again. nil: wait
	// for the daemon to come back.
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
}

// relayState is where a Relay stands with its daemon.
type relayState int

const (
	// stateIdle: not connected yet. The next request connects, starting
	// a daemon when none answers, and waits for it.
	stateIdle relayState = iota
	// stateConnected: requests are forwarded to the daemon on conn.
	stateConnected
	// stateLost: the daemon died, stopped, could not be reached or did
	// not answer in time. Requests are decided here (tokens refused)
	// while the relay's goroutine starts a daemon and connects
	// (reconnect); a request dials too, at most every redial.
	stateLost
	// stateAlone: no daemon may be asked (RelayConfig.Unshared): every
	// request is decided here, tokens refused.
	stateAlone
)

func (s relayState) String() string {
	switch s {
	case stateIdle:
		return "idle"
	case stateConnected:
		return "connected"
	case stateLost:
		return "lost"
	case stateAlone:
		return "alone"
	}
	return fmt.Sprintf("relayState(%d)", int(s))
}

// Errors of a forward, which decideHere tells apart.
var (
	errAlone   = errors.New("no daemon may be asked")
	errLost    = errors.New("daemon lost; not dialed again yet")
	errNotSent = errors.New("the request could not be sent") // the daemon had gone: it decided nothing
	errNoReply = errors.New("the daemon did not answer")     // it may have decided
)

// Relay is an extauth.Answerer in front of a local one: it forwards each
// request frame, as it came, to a long-lived daemon (the automatic one,
// or "livechat-auth serve") on a Unix socket and returns the daemon's
// answer, so that every process of ejabberd's pool shares one cache, one
// failure limit and one record of used tokens. When the daemon cannot
// answer, the local Answerer decides (tokens refused), and a request the
// daemon was deciding when it died is decided there at once: every
// request gets one answer. See the package documentation for its states.
//
// Answer is called by one request loop at a time (extauth.Serve); the
// relay's own goroutine, while the daemon is lost, starts one and
// connects.
type Relay struct {
	local   extauth.Answerer
	log     hclog.Logger
	timeout time.Duration
	tokens  bool
	dial    func(ctx context.Context, path string) (net.Conn, error)
	check   func(c net.Conn, path string) error // vets the daemon before it is trusted
	locate  func() (string, error)
	start   func(ctx context.Context, socket string) error
	redial  time.Duration // the least time between two dials while lost
	suspect time.Duration // how long a daemon that timed out is not asked
	closed  chan struct{}

	mu       sync.Mutex
	state    relayState
	path     string // the daemon's socket
	conn     *blockingConn
	reader   *bufio.Reader
	lostAt   time.Time // when the daemon was lost (stateLost)
	dialedAt time.Time // the last dial (stateLost)
	// notBefore: a daemon that did not answer in time (stopped, or
	// swamped) is not asked again before then; requests are decided here.
	notBefore time.Time
	outage    int // counts the times the daemon was lost; each has its reconnect goroutine
}

var _ extauth.Answerer = (*Relay)(nil)

// NewRelay returns a Relay asking the daemon on cfg.Socket, deciding with
// local while it cannot.
func NewRelay(local extauth.Answerer, log hclog.Logger, cfg RelayConfig) (*Relay, error) {
	if (cfg.Socket == "" && cfg.Unshared == nil) || local == nil || log == nil || cfg.Timeout <= 0 {
		return nil, errors.New("extauthd: a relay needs a socket path, a local answerer, a logger and a timeout")
	}
	var d net.Dialer
	rl := &Relay{
		local: local, log: log, timeout: cfg.Timeout, tokens: cfg.Tokens,
		dial:   func(ctx context.Context, path string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) },
		check:  TrustedPeer,
		locate: cfg.Locate, start: cfg.Start,
		redial:  100 * time.Millisecond,
		suspect: 5 * time.Second,
		closed:  make(chan struct{}),
		path:    cfg.Socket,
	}
	if cfg.Unshared != nil {
		rl.state = stateAlone // the caller has said why, once
	}
	return rl, nil
}

// Answer forwards f to the daemon and returns its answer. When the daemon
// cannot answer it decides here: a password with the local Answerer, a
// token "no" (token-unshared), and a request the daemon did not answer
// in time "no" (daemon-timeout: deciding again would only be slower, and
// could accept a token the daemon has used).
//
// Every request is answered within its budget (RelayConfig.Timeout),
// plus 0.5 s for the trip and, when the daemon died in the middle of it,
// at least a second to decide it here: starting a daemon may take half
// the budget at most, and a decision made here after the daemon was
// asked gets what is left. ejabberd's 30 s are never reached.
func (rl *Relay) Answer(ctx context.Context, f extauth.Frame) bool {
	deadline := time.Now().Add(rl.timeout + 500*time.Millisecond)
	yes, err := rl.forward(ctx, deadline, f)
	if err == nil {
		return yes
	}
	dctx, cancel := context.WithDeadline(ctx, later(deadline, time.Now().Add(time.Second)))
	defer cancel()
	return rl.decideHere(dctx, f, err)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Close lets go of the daemon and stops starting one. Call it once the
// request loop has returned.
func (rl *Relay) Close() error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	select {
	case <-rl.closed:
		return nil
	default:
	}
	close(rl.closed)
	if rl.conn != nil {
		rl.conn.Close()
		rl.conn, rl.reader = nil, nil
	}
	return nil
}

// forward asks the daemon, connecting first as the state says. A daemon
// found gone before the request was sent (it died or stopped between two
// requests) is replaced before this request is asked: it decided
// nothing. An error means the request must be decided here.
func (rl *Relay) forward(ctx context.Context, deadline time.Time, f extauth.Frame) (bool, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	connected := false // during this request: its exchange gets what is left of the budget
	switch rl.state {
	case stateAlone:
		return false, errAlone
	case stateIdle:
		if err := rl.connectWithin(ctx, deadline, true); err != nil {
			return false, err
		}
		connected = true
	case stateLost:
		if time.Since(rl.dialedAt) < rl.redial || time.Now().Before(rl.notBefore) {
			return false, errLost
		}
		if err := rl.connectWithin(ctx, deadline, false); err != nil {
			return false, err
		}
		connected = true
	}
	yes, err := rl.exchangeLocked(f, connected, deadline)
	if errors.Is(err, errNotSent) {
		gone := time.Now()
		rl.log.Debug("daemon gone since the last request; connecting again", "error", err)
		rl.dropLocked()
		if err := rl.connectWithin(ctx, deadline, true); err != nil {
			rl.lostAt = gone // away since it was found gone, the start's wait included
			return false, err
		}
		rl.log.Info("daemon gone since the last request; a new one answers", "waited", time.Since(gone).Round(time.Millisecond))
		yes, err = rl.exchangeLocked(f, true, deadline)
	}
	if err != nil {
		rl.loseLocked(ctx, err)
		return false, err
	}
	return yes, nil
}

// connectWithin is connectLocked bounded by half of what is left of the
// request's budget, so that a decision made here still has the rest.
func (rl *Relay) connectWithin(ctx context.Context, deadline time.Time, mayStart bool) error {
	cctx, cancel := context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
	defer cancel()
	return rl.connectLocked(cctx, mayStart)
}

// exchangeLocked sends one frame and reads the reply, each within the
// bound dialChecked set or, when the connection was made during this
// request (late), within what is left until deadline.
func (rl *Relay) exchangeLocked(f extauth.Frame, late bool, deadline time.Time) (bool, error) {
	if late {
		conn := rl.conn
		if err := conn.setTimeout(max(time.Until(deadline), 10*time.Millisecond)); err != nil {
			return false, fmt.Errorf("%w: %w", errNotSent, err)
		}
		defer func() {
			if rl.conn == conn { // still open: a lost one was closed, and its number may be another's now
				_ = conn.setTimeout(rl.timeout + 500*time.Millisecond) // a failure shows at the next request
			}
		}()
	}
	if _, err := rl.conn.Write(f); err != nil {
		return false, fmt.Errorf("%w: %w", errNotSent, err)
	}
	yes, err := extauth.ReadReply(rl.reader)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errNoReply, err)
	}
	return yes, nil
}

// connectLocked dials the daemon and, when none answers and mayStart
// (a request waits for it), starts one and dials again. On failure the
// relay is lost.
func (rl *Relay) connectLocked(ctx context.Context, mayStart bool) error {
	if rl.locate != nil {
		if p, err := rl.locate(); err == nil {
			rl.path = p
		}
	}
	rl.dialedAt = time.Now()
	conn, err := rl.dialChecked(ctx, rl.path)
	if err != nil && mayStart && rl.start != nil && ctx.Err() == nil {
		if serr := rl.start(ctx, rl.path); serr != nil {
			err = fmt.Errorf("%w; starting one: %w", err, serr)
		} else {
			conn, err = rl.dialChecked(ctx, rl.path)
		}
	}
	if err != nil {
		rl.loseLocked(ctx, err)
		return err
	}
	rl.connectedLocked(conn)
	return nil
}

// connectedLocked makes conn the relay's connection to its daemon,
// reporting how long the daemon was away when it was lost.
func (rl *Relay) connectedLocked(conn *blockingConn) {
	rl.dropLocked()
	if rl.state == stateLost {
		rl.log.Info("daemon reachable again", "away", time.Since(rl.lostAt).Round(time.Millisecond))
	}
	rl.state, rl.conn, rl.reader = stateConnected, conn, bufio.NewReader(conn)
}

// dialChecked connects to the daemon on path, vets it, and bounds each read and
// write on the connection by the request's budget and 0.5 s for the trip.
func (rl *Relay) dialChecked(ctx context.Context, path string) (*blockingConn, error) {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	conn, err := rl.dial(dctx, path)
	cancel()
	if err != nil {
		return nil, err
	}
	if rl.check != nil {
		if err := rl.check(conn, path); err != nil {
			conn.Close()
			return nil, err
		}
	}
	bc, err := newBlockingConn(conn)
	if err != nil {
		return nil, err
	}
	if err := bc.setTimeout(rl.timeout + 500*time.Millisecond); err != nil {
		bc.Close()
		return nil, err
	}
	return bc, nil
}

// dropLocked closes the connection to the daemon.
func (rl *Relay) dropLocked() {
	if rl.conn != nil {
		rl.conn.Close()
		rl.conn, rl.reader = nil, nil
	}
}

// loseLocked enters stateLost for err, reporting the outage once, and
// sets reconnect going.
func (rl *Relay) loseLocked(ctx context.Context, err error) {
	rl.dropLocked()
	if rl.state == stateLost {
		return
	}
	rl.state, rl.lostAt = stateLost, time.Now()
	rl.outage++
	msg := "daemon unreachable; deciding passwords locally until it is back"
	switch {
	case errors.Is(err, errNoReply) && errors.Is(err, os.ErrDeadlineExceeded):
		// Stopped, frozen or swamped: it accepts connections but does
		// not answer. Asking it again at once would cost every request
		// its whole budget.
		rl.notBefore = time.Now().Add(rl.suspect)
		msg = "daemon did not answer in time; deciding passwords locally for " + rl.suspect.String() + ", then asking it again"
	case errors.Is(err, errNoReply):
		msg = "daemon lost while deciding a request; deciding it and the next ones locally until the daemon is back"
	case errors.Is(err, errNotSent):
		msg = "daemon lost; deciding passwords locally until it is back"
	}
	if rl.tokens {
		msg += ", refusing token sign-ins: a used-token record of this process alone would let a token sign in again"
	}
	rl.log.Warn(msg, "error", err)
	go rl.reconnect(ctx, rl.outage)
}

// reconnect brings the relay back to a daemon after it was lost, without
// waiting for a request: it starts one when the relay may (AutoStart:
// the relay that takes the start lock first starts it, the others find
// it answering) and connects, and tries again after a growing pause
// (50 ms to 5 s) until connected, the outage is over, the relay is
// closed, or ctx ends. A connection it makes to a daemon dying at that
// moment fails at the next request's write, which then connects again
// (forward).
func (rl *Relay) reconnect(ctx context.Context, outage int) {
	pause := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-rl.closed:
			return
		case <-time.After(pause):
		}
		pause = min(max(2*pause, 50*time.Millisecond), 5*time.Second)
		rl.mu.Lock()
		path, current, wait := rl.path, rl.state == stateLost && rl.outage == outage, time.Until(rl.notBefore)
		rl.mu.Unlock()
		if !current {
			return
		}
		if wait > 0 {
			pause = wait
			continue
		}
		if rl.locate != nil {
			if p, err := rl.locate(); err == nil {
				path = p
			}
		}
		var err error
		if rl.start != nil {
			err = rl.start(ctx, path)
		}
		var conn *blockingConn
		if err == nil {
			conn, err = rl.dialChecked(ctx, path)
		}
		if err != nil {
			rl.log.Debug("no daemon yet; trying again", "error", err, "in", pause)
			continue
		}
		rl.mu.Lock()
		if rl.state == stateLost && rl.outage == outage {
			rl.path = path
			rl.connectedLocked(conn)
			conn = nil
		}
		rl.mu.Unlock()
		if conn != nil {
			conn.Close() // a request connected first
		}
		return
	}
}

// decideHere answers a request the daemon did not answer (err says why).
func (rl *Relay) decideHere(ctx context.Context, f extauth.Frame, err error) bool {
	req, perr := f.Request()
	if perr != nil {
		return rl.local.Answer(ctx, f) // refused and logged as malformed there
	}
	switch {
	case errors.Is(err, errNoReply) && errors.Is(err, os.ErrDeadlineExceeded):
		// The daemon is up but did not answer in time (a slow
		// database): deciding again here would only be slower, and
		// could accept a token the daemon has already used.
		rl.log.Warn("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", "daemon-timeout")
		return false
	case rl.tokens && req.Command == extauth.CmdAuth && token.LooksLikeToken(req.Password):
		rl.log.Info("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", extauth.ReasonTokenUnshared)
		return false
	}
	return rl.local.Answer(ctx, f)
}
