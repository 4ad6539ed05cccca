// Package httpauth serves the HTTP authentication contract that
// MongooseIM's "http" auth method, prosody-modules' mod_auth_http and our
// own Prosody module (mod_auth_livechat) speak: GET or POST
// <base>/check_password and <base>/user_exists with the parameters user,
// server and pass, answered 200 with the text "true" or "false". The
// write methods (register, set_password, remove_user, …) answer 501: the
// wiki owns the accounts.
//
// Because requests carry passwords, every request must present the
// shared secret (HTTP Basic with any user name, or a bearer token) unless
// the operator turned that off for a loopback-only listener. URLs, bodies
// and passwords are never logged.
package httpauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// Authenticator decides sign-ins; *provider.Authenticator implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, user, domain, password string) (provider.Account, error)
	UserExists(ctx context.Context, user, domain string) (bool, error)
}

// Config configures a Handler.
type Config struct {
	Base    string        // path prefix, e.g. "/auth"
	Secret  []byte        // shared secret; nil only when NoSecret
	Timeout time.Duration // deadline of one decision, under the callers' own (MongooseIM: 2s)
	// NoSecret serves requests without a secret. Only for a listener on
	// loopback; the caller checks that.
	NoSecret bool
	// Observe, when set, is told of every decision (for metrics).
	Observe provider.Observer
}

// maxForm bounds a POST body; the contract's forms are tiny.
const maxForm = 8 << 10

// Handler serves the contract. It is safe for concurrent use.
type Handler struct {
	auth Authenticator
	log  hclog.Logger
	cfg  Config
}

// New returns a Handler.
func New(auth Authenticator, log hclog.Logger, cfg Config) (*Handler, error) {
	switch {
	case auth == nil || log == nil:
		return nil, errors.New("httpauth: nil dependency")
	case !cfg.NoSecret && len(cfg.Secret) < 16:
		return nil, errors.New("httpauth: a secret of at least 16 bytes is required")
	case cfg.Timeout <= 0:
		return nil, errors.New("httpauth: timeout must be positive")
	}
	cfg.Base = strings.TrimSuffix(cfg.Base, "/")
	return &Handler{auth: auth, log: log, cfg: cfg}, nil
}

// methods the contract names, and whether they are ours to answer.
var writeMethods = map[string]bool{
	"register": true, "set_password": true, "remove_user": true, "get_password": true, "get_certs": true, "try_register": true,
}

// ServeHTTP answers one request of the contract. Every answer to a method
// the contract names is one decision, told once to Config.Observe: the
// refusals before asking the Authenticator (bad-secret, bad-request,
// read-only) included. Other paths are 404 and not decisions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method, ok := strings.CutPrefix(r.URL.Path, h.cfg.Base+"/")
	if !ok || strings.Contains(method, "/") {
		http.NotFound(w, r)
		return
	}
	known := method == "check_password" || method == "user_exists" || writeMethods[method]
	refuse := func(status int, reason string) {
		if known { // an unknown name would make a metric label of anything
			h.observe(method, reason, start, false)
		}
		answer(w, status, "false")
	}
	if !h.authorized(r) {
		h.log.Warn("refused", "cmd", method, "reason", "bad-secret", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Basic realm="livechat-auth"`)
		refuse(http.StatusUnauthorized, "bad-secret")
		return
	}
	if !known {
		http.NotFound(w, r)
		return
	}
	if writeMethods[method] {
		h.log.Info("refused", "cmd", method, "reason", string(provider.ReasonReadOnly))
		h.observe(method, string(provider.ReasonReadOnly), start, false)
		answer(w, http.StatusNotImplemented, "not implemented: the wiki owns the accounts")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		h.log.Info("refused", "cmd", method, "reason", "bad-request", "error", "method "+r.Method)
		refuse(http.StatusMethodNotAllowed, "bad-request")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.log.Warn("refused", "cmd", method, "reason", "bad-request", "error", "unreadable form")
		refuse(http.StatusBadRequest, "bad-request")
		return
	}
	user, server, pass := r.Form.Get("user"), r.Form.Get("server"), r.Form.Get("pass")
	log := h.log.With("cmd", method, "user", user, "server", server)
	if user == "" || server == "" || (method == "check_password" && pass == "") {
		log.Info("refused", "reason", "bad-request")
		refuse(http.StatusBadRequest, "bad-request")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	var yes bool
	var err error
	var acct provider.Account
	kv := []any{}
	if method == "check_password" {
		acct, err = h.auth.Authenticate(ctx, user, server, pass)
		yes = err == nil
		kv = append(kv, "cache_hit", acct.CacheHit)
		if acct.Token != nil {
			kv = append(kv, "credential", "token", "kid", acct.Token.KeyID, "jti", acct.Token.ID)
		}
	} else {
		yes, err = h.auth.UserExists(ctx, user, server)
		yes = yes && err == nil
	}
	provider.LogSignIn(log, acct, err, append(kv, "duration", time.Since(start))...)
	h.observe(method, provider.ResultOf(acct, err), start, acct.CacheHit)
	var reason provider.Reason
	if err != nil && !errors.As(err, &reason) {
		// The wiki could not be asked, or another fault: a server fault,
		// not "wrong password" or "no such user" (which would bounce a
		// real user's messages). The reason goes in a header, for the
		// chat server's log; the body stays "false" for the contract.
		w.Header().Set(HeaderReason, provider.Result(err))
		status := http.StatusServiceUnavailable
		if provider.Result(err) == provider.ResultError {
			status = http.StatusInternalServerError
		}
		answer(w, status, "false")
		return
	}
	answer(w, http.StatusOK, fmt.Sprint(yes))
}

// HeaderReason carries, on a server-fault answer (503, 500), why it is
// one: db-unavailable or error.
const HeaderReason = "X-Livechat-Reason"

// observe tells Config.Observe of one decision.
func (h *Handler) observe(method, result string, start time.Time, cacheHit bool) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(method, result, time.Since(start), cacheHit)
	}
}

// authorized checks the shared secret: HTTP Basic (any user name) or a
// bearer token, compared in constant time.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.NoSecret {
		return true
	}
	var got []byte
	if _, pw, ok := r.BasicAuth(); ok {
		got = []byte(pw)
	} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = []byte(tok)
	}
	return len(got) > 0 && subtle.ConstantTimeCompare(got, h.cfg.Secret) == 1
}

// BasicAuthorization is the Authorization header value for secret, as a
// caller sends it.
func BasicAuthorization(user string, secret []byte) string {
	return "Basic " + base64.StdEncoding.EncodeToString(append([]byte(user+":"), secret...))
}

// answer writes a plain-text body with its Content-Length.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body)) // the caller went away: nothing to do
}
