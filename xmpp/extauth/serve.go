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

// Authenticator decides sign-ins; *provider.Authenticator implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error)
	UserExists(ctx context.Context, user, domain string) (bool, error)
}

// Server answers extauth requests with an Authenticator.
type Server struct {
	Auth    Authenticator
	Log     hclog.Logger
	Timeout time.Duration // budget of each request, far under ejabberd's 30 s (default 5s)
}

// Serve reads requests from r and writes one reply per request to w until
// r ends or ctx is done. Nothing but replies is written to w. It returns
// nil when r ends cleanly, and an error when r ends inside a frame or w
// cannot be written.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 4096)
	for ctx.Err() == nil {
		req, err := ReadRequest(br)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, ErrMalformed):
			s.Log.Warn("malformed request", "reason", "bad-request", "error", err)
			if err := WriteReply(w, false); err != nil {
				return fmt.Errorf("write reply: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("read request: %w", err)
		}
		if err := WriteReply(w, s.answer(ctx, req)); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	return nil
}

// answer decides one request and logs the decision. A panic in a decision
// is logged and answered "no": one bad request never stops the worker.
func (s *Server) answer(ctx context.Context, req Request) (yes bool) {
	start := time.Now()
	log := s.Log.With("cmd", req.Command, "user", req.User, "server", req.Server)
	defer func() {
		if p := recover(); p != nil {
			log.Error("request failed", "reason", "error", "error", fmt.Sprint(p))
			yes = false
		}
	}()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	switch req.Command {
	case CmdAuth:
		acct, err := s.Auth.Authenticate(ctx, req.User, req.Server, req.Password)
		logDecision(log, err, "duration", time.Since(start), "cache_hit", acct.CacheHit)
		return err == nil
	case CmdIsUser:
		exists, err := s.Auth.UserExists(ctx, req.User, req.Server)
		if err != nil {
			logDecision(log, err, "duration", time.Since(start))
			return false
		}
		log.Debug("user looked up", "exists", exists, "duration", time.Since(start))
		return exists
	}
	log.Info("refused", "reason", string(provider.ReasonReadOnly))
	return false
}

// logDecision writes the one line for a decision: Info for accepted and
// refused, Warn when the wiki could not be asked.
func logDecision(log hclog.Logger, err error, kv ...any) {
	var reason provider.Reason
	switch {
	case err == nil:
		log.Info("accepted", kv...)
	case errors.As(err, &reason):
		log.Info("refused", append(kv, "reason", string(reason))...)
	default:
		log.Warn("refused", append(kv, "reason", "db-unavailable", "error", err)...)
	}
}
