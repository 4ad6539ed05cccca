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
	c := call{w: w, start: time.Now()}
	method, ok := strings.CutPrefix(r.URL.Path, h.cfg.Base+"/")
	if !ok || strings.Contains(method, "/") {
		http.NotFound(w, r)
		return
	}
	c.method = method
	c.known = method == "check_password" || method == "user_exists" || writeMethods[method]
	if !h.admit(c, r) {
		return
	}
	q, err := parseRequest(w, r, method)
	if err != nil {
		h.log.Warn("refused", "cmd", method, "reason", "bad-request", "error", "unreadable form")
		h.refuse(c, http.StatusBadRequest, "bad-request")
		return
	}
	log := h.log.With("cmd", method, "user", q.user, "server", q.server)
	if !q.complete() {
		log.Info("refused", "reason", "bad-request")
		h.refuse(c, http.StatusBadRequest, "bad-request")
		return
	}
	h.decide(r.Context(), c, q, log)
}

// call is one request being answered: where to, for which method of the
// contract (the last element of the path), since when.
type call struct {
	w      http.ResponseWriter
	method string
	known  bool // the contract names method
	start  time.Time
}

// refuse answers "false" with status, and tells Config.Observe of the
// refusal when the contract names the method.
func (h *Handler) refuse(c call, status int, reason string) {
	if c.known { // an unknown name would make a metric label of anything
		h.observe(c.method, "", reason, c.start, false)
	}
	answer(c.w, status, "false")
}

// admit checks what a request needs before its parameters are read: the
// shared secret, a method the contract names and that is ours to answer,
// and GET or POST. When it returns false, the request is answered.
func (h *Handler) admit(c call, r *http.Request) bool {
	if !h.authorized(r) {
		h.log.Warn("refused", "cmd", c.method, "reason", "bad-secret", "remote", r.RemoteAddr)
		c.w.Header().Set("WWW-Authenticate", `Basic realm="livechat-auth"`)
		h.refuse(c, http.StatusUnauthorized, "bad-secret")
		return false
	}
	if !c.known {
		http.NotFound(c.w, r)
		return false
	}
	if writeMethods[c.method] {
		h.log.Info("refused", "cmd", c.method, "reason", string(provider.ReasonReadOnly))
		h.observe(c.method, "", string(provider.ReasonReadOnly), c.start, false)
		answer(c.w, http.StatusNotImplemented, "not implemented: the wiki owns the accounts")
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		c.w.Header().Set("Allow", "GET, POST")
		h.log.Info("refused", "cmd", c.method, "reason", "bad-request", "error", "method "+r.Method)
		h.refuse(c, http.StatusMethodNotAllowed, "bad-request")
		return false
	}
	return true
}

// request is one call's parameters.
type request struct {
	method             string // check_password or user_exists
	user, server, pass string
}

// complete reports whether q holds the parameters its method needs.
func (q request) complete() bool {
	return q.user != "" && q.server != "" && (q.method != "check_password" || q.pass != "")
}

// parseRequest reads the parameters of a call of method from r: its
// query string and, for a POST form, its body, of which it reads at most
// maxForm bytes (w is told when there are more). A parameter given twice
// counts with its first value, the body's before the query's. An error
// means the query or the form could not be read.
func parseRequest(w http.ResponseWriter, r *http.Request, method string) (request, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return request{}, err
	}
	return request{method: method, user: r.Form.Get("user"), server: r.Form.Get("server"), pass: r.Form.Get("pass")}, nil
}

// decide asks the Authenticator, within Config.Timeout, logs and
// observes the decision and answers it.
func (h *Handler) decide(ctx context.Context, c call, q request, log hclog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	var yes bool
	var err error
	var acct provider.Account
	kv := []any{}
	if q.method == "check_password" {
		acct, err = h.auth.Authenticate(ctx, q.user, q.server, q.pass)
		yes = err == nil
		kv = append(kv, "cache_hit", acct.CacheHit)
		if acct.Token != nil {
			kv = append(kv, "credential", "token", "kid", acct.Token.KeyID, "jti", acct.Token.ID)
		}
	} else {
		yes, err = h.auth.UserExists(ctx, q.user, q.server)
		yes = yes && err == nil
	}
	provider.LogSignIn(log, acct, err, append(kv, "duration", time.Since(c.start))...)
	h.observe(q.method, q.user, provider.ResultOf(acct, err), c.start, acct.CacheHit)
	var reason provider.Reason
	if err != nil && !errors.As(err, &reason) {
		// The wiki could not be asked, or another fault: a server fault,
		// not "wrong password" or "no such user" (which would bounce a
		// real user's messages). The reason goes in a header, for the
		// chat server's log; the body stays "false" for the contract.
		c.w.Header().Set(HeaderReason, provider.Result(err))
		status := http.StatusServiceUnavailable
		if provider.Result(err) == provider.ResultError {
			status = http.StatusInternalServerError
		}
		answer(c.w, status, "false")
		return
	}
	answer(c.w, http.StatusOK, fmt.Sprint(yes))
}

// HeaderReason carries, on a server-fault answer (503, 500), why it is
// one: db-unavailable or error.
const HeaderReason = "X-Livechat-Reason"

// observe tells Config.Observe of one decision.
func (h *Handler) observe(method, name, result string, start time.Time, cacheHit bool) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(provider.Decision{Cmd: method, Name: name, Result: result, Took: time.Since(start), CacheHit: cacheHit})
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
