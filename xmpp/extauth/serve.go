package extauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// Frame is one whole request as ejabberd wrote it: the 2-byte length,
// then the body. A Frame handed to Answer is valid only during the call.
type Frame []byte

// Request decodes the frame; the error wraps ErrMalformed.
func (f Frame) Request() (Request, error) { return ParseRequest(f[2:]) }

// Answerer answers extauth requests, one at a time: Serve asks it once
// per frame and writes its answer as the reply. *Server decides itself;
// a wrapper (the relay to a shared daemon, package extauthd) asks
// elsewhere and falls back on the Answerer it wraps.
type Answerer interface {
	Answer(ctx context.Context, f Frame) (yes bool)
}

// Serve is the request loop of every extauth speaker: it reads requests
// from r and writes a's answer to each to w, one reply per request, in
// order, until r ends or ctx is done (checked between two requests).
// Nothing but replies is written to w. It returns nil when r ends
// cleanly between two requests, and an error when r ends inside one, a
// read fails (a read deadline stops it too), or w cannot be written.
func Serve(ctx context.Context, r io.Reader, w io.Writer, a Answerer) error {
	br := bufio.NewReaderSize(r, 4096)
	var frame []byte
	for ctx.Err() == nil {
		var err error
		if frame, err = readFrame(br, frame[:0]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		if err := WriteReply(w, a.Answer(ctx, frame)); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	return nil
}

// Authenticator decides sign-ins; *provider.Authenticator implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error)
	UserExists(ctx context.Context, user, domain string) (bool, error)
}

// Server answers extauth requests with an Authenticator: the local
// decision, which logs one line per request.
type Server struct {
	auth    Authenticator
	log     hclog.Logger
	timeout time.Duration
	observe provider.Observer
}

var _ Answerer = (*Server)(nil)

// Observe makes the server tell o of every decision, once each (for
// metrics): auth and isuser with their provider.Result, the write
// commands as read-only, and a decision that panicked as error. Call it
// before serving.
func (s *Server) Observe(o provider.Observer) { s.observe = o }

// New returns a Server deciding with auth and logging one line per
// decision to log. timeout is the budget of each request, far under
// ejabberd's 30 s.
func New(auth Authenticator, log hclog.Logger, timeout time.Duration) (*Server, error) {
	switch {
	case auth == nil:
		return nil, errors.New("extauth: nil Authenticator")
	case log == nil:
		return nil, errors.New("extauth: nil logger")
	case timeout <= 0:
		return nil, errors.New("extauth: request timeout must be positive")
	}
	return &Server{auth: auth, log: log, timeout: timeout}, nil
}

// With returns a copy of s whose log lines carry args too (say, the
// process a request came through).
func (s *Server) With(args ...any) *Server {
	c := *s
	c.log = s.log.With(args...)
	return &c
}

// Answer decides one whole frame: a malformed one is answered "no",
// logged and counted (cmd "malformed", result "bad-request"), the others
// by their command.
func (s *Server) Answer(ctx context.Context, f Frame) bool {
	req, err := f.Request()
	if err != nil {
		s.log.Warn("malformed request", "reason", "bad-request", "error", err)
		s.observed(CmdMalformed, "", ResultBadRequest, time.Now(), false)
		return false
	}
	return s.answer(ctx, req)
}

// answer decides one request and logs the decision. A panic in a decision
// is logged and answered "no": one bad request never stops the worker.
func (s *Server) answer(ctx context.Context, req Request) (yes bool) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("request failed", "cmd", req.Command, "user", req.User, "server", req.Server,
				"reason", provider.ResultError, "error", fmt.Sprint(p))
			s.observed(req.Command, req.User, provider.ResultError, start, false)
			yes = false
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	// The request's fields go with the one line logged, with no logger
	// made per request.
	switch req.Command {
	case CmdAuth:
		acct, err := s.auth.Authenticate(ctx, req.User, req.Server, req.Password)
		if acct.Token != nil {
			provider.LogSignIn(s.log, acct, err, "cmd", req.Command, "user", req.User, "server", req.Server,
				"duration", time.Since(start), "cache_hit", acct.CacheHit,
				"credential", "token", "kid", acct.Token.KeyID, "jti", acct.Token.ID)
		} else {
			provider.LogSignIn(s.log, acct, err, "cmd", req.Command, "user", req.User, "server", req.Server,
				"duration", time.Since(start), "cache_hit", acct.CacheHit)
		}
		s.observed(req.Command, req.User, provider.ResultOf(acct, err), start, acct.CacheHit)
		return err == nil
	case CmdIsUser:
		exists, err := s.auth.UserExists(ctx, req.User, req.Server)
		provider.LogDecision(s.log, err, "cmd", req.Command, "user", req.User, "server", req.Server, "duration", time.Since(start))
		s.observed(req.Command, req.User, provider.Result(err), start, false)
		return exists && err == nil
	}
	s.log.Info("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", string(provider.ReasonReadOnly))
	s.observed(req.Command, req.User, string(provider.ReasonReadOnly), start, false)
	return false
}

// CmdMalformed and ResultBadRequest label the decisions on frames that
// are no request.
const (
	CmdMalformed     = "malformed"
	ResultBadRequest = "bad-request"
)

// observed tells the observer, if any, of one decision. cmd is one of the
// commands ParseRequest accepts, so labels stay few.
func (s *Server) observed(cmd, name, result string, start time.Time, cacheHit bool) {
	if s.observe != nil {
		s.observe(provider.Decision{Cmd: cmd, Name: name, Result: result, Took: time.Since(start), CacheHit: cacheHit})
	}
}

// ReasonTokenUnshared is the reason code of a token refused because the
// shared record of used tokens (the daemon, see package extauthd) cannot
// be asked: a record kept by one process would let a token sign in once
// per process.
const ReasonTokenUnshared = string(provider.ReasonTokenUnshared)
