package extauthd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// Lock is one account the failure limit locked, as the control socket
// reports it (JSON).
type Lock = provider.Lock

// Locks lists and clears the locks of the running decision maker
// (*provider.Authenticator is one); the control socket serves it. It
// must be safe for concurrent use.
type Locks interface {
	Locks() []Lock
	LockOf(user string) (Lock, bool)
	Unlock(user string) bool
}

// ServeControl answers the operator's commands (livechat-auth locks,
// check) over HTTP on the Unix socket path, made with mode 0600, and
// serves only connections from root or this process's own user. It
// returns once listening; it stops with ctx.
func ServeControl(ctx context.Context, path string, locks Locks, log hclog.Logger) error {
	ln, err := Listen(path, 0o600)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           controlHandler(locks, log),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	context.AfterFunc(ctx, func() { srv.Close() })
	go func() {
		if err := srv.Serve(ownerOnly{ln, log}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control socket stopped", "error", err)
		}
	}()
	return nil
}

// ownerOnly drops connections from any user but root and our own.
type ownerOnly struct {
	net.Listener
	log hclog.Logger
}

func (l ownerOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, pid, err := PeerCredentials(c)
		if err == nil && (uid == 0 || uid == os.Getuid()) {
			return c, nil
		}
		l.log.Warn("control connection refused", "uid", uid, "pid", pid, "error", err)
		c.Close()
	}
}

// controlHandler serves the routes drawn in the package documentation.
func controlHandler(locks Locks, log hclog.Logger) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
	}
	mux.HandleFunc("GET /v1/locks", func(w http.ResponseWriter, _ *http.Request) {
		all := locks.Locks()
		if all == nil {
			all = []Lock{}
		}
		reply(w, http.StatusOK, map[string]any{"locks": all})
	})
	mux.HandleFunc("GET /v1/locks/{user}", func(w http.ResponseWriter, r *http.Request) {
		if l, ok := locks.LockOf(r.PathValue("user")); ok {
			reply(w, http.StatusOK, l)
			return
		}
		reply(w, http.StatusNotFound, map[string]string{"error": "not locked"})
	})
	mux.HandleFunc("DELETE /v1/locks/{user}", func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		if !locks.Unlock(user) {
			reply(w, http.StatusNotFound, map[string]string{"error": "not locked"})
			return
		}
		log.Info("lock cleared by the operator", "user", user)
		reply(w, http.StatusOK, map[string]bool{"cleared": true})
	})
	return mux
}
