package extauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// Authenticator decides sign-ins; *provider.Authenticator implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error)
	UserExists(ctx context.Context, user, domain string) (bool, error)
}

// Server answers extauth requests with an Authenticator.
type Server struct {
	auth    Authenticator
	log     hclog.Logger
	timeout time.Duration
	observe provider.Observer
}

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

// Serve reads requests from r and writes one reply per request to w until
// r ends or ctx is done. Nothing but replies is written to w. It returns
// nil when r ends cleanly, and an error when r ends inside a frame or w
// cannot be written.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	return serveRaw(ctx, r, w, func(frame []byte) bool { return s.answerFrame(ctx, frame) })
}

// answerFrame decides one whole frame: a malformed one is answered "no",
// logged and counted (cmd "malformed", result "bad-request"), the others
// by answer.
func (s *Server) answerFrame(ctx context.Context, frame []byte) bool {
	req, err := ParseRequest(frame[2:])
	if err != nil {
		s.log.Warn("malformed request", "reason", "bad-request", "error", err)
		s.observed(CmdMalformed, ResultBadRequest, time.Now(), false)
		return false
	}
	return s.answer(ctx, req)
}

// serveRaw is the request loop of every extauth speaker: it reads whole
// frames (length included) into one reused buffer and writes the reply
// answer gives. frame is valid only during the call.
func serveRaw(ctx context.Context, r io.Reader, w io.Writer, answer func(frame []byte) bool) error {
	return serveRawUntil(ctx, r, w, answer, nil)
}

// errHandoffDue ends serveRawUntil between two requests.
var errHandoffDue = errors.New("stopped between requests to hand the streams over")

// errStoppedBetween ends the request loop when r's reads were stopped (a
// past read deadline) between two requests: no byte of a request was
// taken, so another reader of r may go on in step.
var errStoppedBetween = errors.New("stopped between requests")

// serveRawUntil is serveRaw that, after each reply, asks stop (when not
// nil) whether to stop; it stops, returning errHandoffDue, only when
// nothing of r is buffered, so that another reader of r goes on in step.
func serveRawUntil(ctx context.Context, r io.Reader, w io.Writer, answer func(frame []byte) bool, stop func() bool) error {
	br := bufio.NewReaderSize(r, 4096)
	var frame []byte
	for ctx.Err() == nil {
		// Wait for the next request's first byte apart from the rest,
		// so that reads stopped meanwhile are known to have taken none.
		if _, err := br.Peek(1); err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case errors.Is(err, os.ErrDeadlineExceeded) && br.Buffered() == 0:
				return errStoppedBetween
			}
			return fmt.Errorf("read request: %w", err)
		}
		var err error
		if frame, err = readFrame(br, frame[:0]); err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		if err := WriteReply(w, answer(frame)); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
		if stop != nil && br.Buffered() == 0 && stop() {
			return errHandoffDue
		}
	}
	return nil
}

// answer decides one request and logs the decision. A panic in a decision
// is logged and answered "no": one bad request never stops the worker.
func (s *Server) answer(ctx context.Context, req Request) (yes bool) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("request failed", "cmd", req.Command, "user", req.User, "server", req.Server,
				"reason", provider.ResultError, "error", fmt.Sprint(p))
			s.observed(req.Command, provider.ResultError, start, false)
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
		s.observed(req.Command, provider.ResultOf(acct, err), start, acct.CacheHit)
		return err == nil
	case CmdIsUser:
		exists, err := s.auth.UserExists(ctx, req.User, req.Server)
		provider.LogDecision(s.log, err, "cmd", req.Command, "user", req.User, "server", req.Server, "duration", time.Since(start))
		s.observed(req.Command, provider.Result(err), start, false)
		return exists && err == nil
	}
	s.log.Info("refused", "cmd", req.Command, "user", req.User, "server", req.Server, "reason", string(provider.ReasonReadOnly))
	s.observed(req.Command, string(provider.ReasonReadOnly), start, false)
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
func (s *Server) observed(cmd, result string, start time.Time, cacheHit bool) {
	if s.observe != nil {
		s.observe(cmd, result, time.Since(start), cacheHit)
	}
}
