// Package status serves the operator's status page of livechat-auth
// serve: server-rendered HTML (no script, no front-end build) showing the
// build, the features on, the health of what the product depends on, the
// sign-in decisions of the last 5 and 60 minutes with a small chart, the
// failure locks (each with a button that clears it: the locks of wiki
// accounts first, the others counted in a list that opens on a click, see
// SplitLocks), the last room sync
// and a dry run of the next, the migration's progress and the sessions
// ended for refused accounts. The handler learns everything through its
// Config. Input.Snapshot builds what a view shows from the settings and
// values the caller passes in, and WriteLocks writes the same locks as
// the text of livechat-auth locks.
//
// With a secret, every request must carry it as the password of HTTP
// basic authentication (any user name). Buttons post a form holding a
// token bound to this process, and cross-site posts are refused, so a
// page elsewhere cannot make an operator's browser clear a lock.
package status

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// Snapshot is what the page shows, read afresh for each view; its JSON
// form is served at /status.json.
type Snapshot struct {
	Process   string    `json:"process"` // which process this is: serve, or the automatic extauth daemon
	Version   string    `json:"version"`
	Revision  string    `json:"revision,omitempty"`
	BuildTime string    `json:"build_time,omitempty"`
	GoVersion string    `json:"go_version"`
	Started   time.Time `json:"started"`
	Now       time.Time `json:"now"`
	Reload    *Reload   `json:"settings"`
	// Attached are the chat server's processes attached now: ejabberd's
	// extauth processes relaying here, and the HTTP contract's requests
	// of the last minute (Prosody's).
	Attached    []Attached      `json:"attached"`
	HTTPAuth    *HTTPAuth       `json:"httpauth,omitempty"` // nil: the HTTP contract is off
	Features    []Feature       `json:"features"`
	Health      []Check         `json:"health"`
	Decisions   []Count         `json:"decisions"` // the last 5 and 60 minutes, by edge and result
	Refusals    []Refusal       `json:"refusals"`  // the last MaxRefusals, newest first
	Locks       []provider.Lock `json:"locks"`
	RoomSync    *RoomSync       `json:"room_sync"` // nil: room sync is off
	Migration   *Migration      `json:"migration"`
	EndSessions *EndSessions    `json:"end_sessions"` // nil: ending sessions is off
}

// Reload is the settings' generation and the last reload's result.
type Reload struct {
	Generation int       `json:"generation"` // 1 at start, one more per reload taken
	Path       string    `json:"path"`       // the config file; "": variables alone
	LastAt     time.Time `json:"last_at"`    // zero: no reload yet
	OK         bool      `json:"ok"`         // the last reload was taken
	Error      string    `json:"error,omitempty"`
	Changed    []string  `json:"changed,omitempty"` // the sections it changed (names, never values)
}

// Attached is one chat server process relaying to this one.
type Attached struct {
	What  string    `json:"what"` // "ejabberd extauth process"
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// HTTPAuth is the HTTP contract's traffic of the last minute.
type HTTPAuth struct {
	LastMinute int `json:"last_minute"`
}

// Feature is one edge or feature and whether it is on.
type Feature struct {
	Name   string `json:"name"`
	On     bool   `json:"on"`
	Detail string `json:"detail,omitempty"`
}

// Check is the health of one dependency.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// RoomSync is the last room sync run.
type RoomSync struct {
	At              time.Time     `json:"at"` // zero: none yet
	Rooms           int           `json:"rooms"`
	Changed         int           `json:"changed"`
	Failed          []string      `json:"failed,omitempty"`
	Err             string        `json:"error,omitempty"`
	Interval        time.Duration `json:"interval_ns"`
	DryRunAvailable bool          `json:"-"`
}

// Migration is how far the accounts are migrated.
type Migration struct {
	Accounts          int    `json:"accounts"`
	WithoutLivechatID int    `json:"without_livechat_id"`
	Err               string `json:"error,omitempty"`
}

// EndSessions is what ending the sessions of refused accounts did.
type EndSessions struct {
	Bound     time.Duration  `json:"bound_ns"`
	LastCheck time.Time      `json:"last_check"`
	Ended     map[string]int `json:"ended"` // reason → sessions ended since start
}

// Config wires the page to the running program.
type Config struct {
	Secret    []byte // required password of basic authentication; nil: none (loopback only)
	Snapshot  func(ctx context.Context) Snapshot
	ClearLock func(name string) bool
	// IsAccount tells the locks of wiki accounts from the others, for at
	// most LookupMax names a view; nil: no name is checked.
	IsAccount IsAccount
	// DryRunRooms runs the room sync without changing anything and
	// returns what it would change; nil: no button.
	DryRunRooms func(ctx context.Context) ([]string, error)
	Recorder    *Recorder
	Log         hclog.Logger
	Now         func() time.Time
	// Metrics is served at /metrics behind the same checks as the page
	// (the automatic daemon's listener); nil: none.
	Metrics http.Handler
	// Hosts are the Host headers accepted when there is no secret: the
	// loopback names, and the listener's own address. A page reached under
	// another name (DNS rebinding through the operator's browser) is
	// refused.
	Hosts []string
}

//go:embed page.html
var files embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"ago":   func(t, now time.Time) string { return now.Sub(t).Round(time.Second).String() },
	"chart": chartSVG,
}).ParseFS(files, "page.html"))

// Handler serves the page.
type Handler struct {
	cfg    Config
	csrf   string
	hosts  map[string]bool
	dryRun sync.Mutex // one dry run at a time: each signs the sync account in
}

// New returns the page's handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand does not fail
	m := hmac.New(sha256.New, key)
	m.Write([]byte("livechat-auth status page form"))
	hosts := map[string]bool{}
	for _, h := range cfg.Hosts {
		hosts[strings.ToLower(h)] = true
	}
	return &Handler{cfg: cfg, csrf: hex.EncodeToString(m.Sum(nil)), hosts: hosts}
}

// hostOK reports whether a request without a secret names this page by a
// loopback name or the listener's own address.
func (h *Handler) hostOK(r *http.Request) bool {
	if h.cfg.Secret != nil {
		return true // the secret guards it; the operator may use any name
	}
	host := strings.ToLower(r.Host)
	if h.hosts[host] {
		return true
	}
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	name = strings.Trim(name, "[]")
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// doneMAC signs what a button's redirect says, so that a link made
// elsewhere cannot put words of its own on the page.
func (h *Handler) doneMAC(code, name string) string {
	m := hmac.New(sha256.New, []byte(h.csrf))
	m.Write([]byte(code + "\x00" + name))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// doneMessages are what a button's redirect may show: a code, never text
// from the request.
var doneMessages = map[string]string{"cleared": "cleared the lock on %s", "none": "no lock on %s"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin") // no-referrer would make a browser send Origin: null on the page's own forms
	if !h.hostOK(r) {
		http.Error(w, "the status page answers only to its loopback address", http.StatusMisdirectedRequest)
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="livechat-auth status", charset="UTF-8"`)
		http.Error(w, "the status page needs its secret (status.secret) as the password", http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.render(w, r, "", nil)
	case r.URL.Path == "/status.json" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.writeJSON(w, r)
	case r.URL.Path == "/metrics" && h.cfg.Metrics != nil:
		h.cfg.Metrics.ServeHTTP(w, r)
	case r.URL.Path == "/locks/clear" && r.Method == http.MethodPost:
		if !h.formOK(w, r) {
			return
		}
		name := r.PostFormValue("name")
		code := "none"
		if h.cfg.ClearLock(name) {
			code = "cleared"
			h.cfg.Log.Info("lock cleared on the status page", "name", name, "remote", r.RemoteAddr)
		}
		http.Redirect(w, r, "/?done="+code+"&name="+url.QueryEscape(name)+"&mac="+h.doneMAC(code, name), http.StatusSeeOther)
	case r.URL.Path == "/rooms/dry-run" && r.Method == http.MethodPost && h.cfg.DryRunRooms != nil:
		if !h.formOK(w, r) {
			return
		}
		if !h.dryRun.TryLock() {
			h.render(w, r, "", []string{"a dry run is already under way: wait for it"})
			return
		}
		defer h.dryRun.Unlock()
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		changes, err := h.cfg.DryRunRooms(ctx)
		if err != nil {
			h.render(w, r, "", []string{"the dry run failed: " + err.Error()})
			return
		}
		if len(changes) == 0 {
			changes = []string{"nothing: every room is in step"}
		}
		h.render(w, r, "", changes)
	case r.URL.Path == "/":
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
	case r.URL.Path == "/locks/clear" || (r.URL.Path == "/rooms/dry-run" && h.cfg.DryRunRooms != nil):
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// authorized checks the secret, when one is set.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.Secret == nil {
		return true
	}
	_, pw, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pw), h.cfg.Secret) == 1
}

// formOK refuses a post that is cross-site or lacks the form token.
func (h *Handler) formOK(w http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return false
		}
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(h.csrf)) != 1 {
		http.Error(w, "the form is stale or forged: reload the page", http.StatusForbidden)
		return false
	}
	return true
}

// view is the template's data.
type view struct {
	Snapshot
	Split       Locks
	OthersTotal int // every other lock, listed or not
	OthersMore  int // other locks past OtherRowsMax, not listed
	LookupMax   int
	Chart       []Minute
	CSRF        string
	Done        string
	DryRun      []string
}

// snapshot reads the caller's snapshot and adds the recorder's counts.
func (h *Handler) snapshot(ctx context.Context) Snapshot {
	s := h.cfg.Snapshot(ctx)
	s.Now = h.cfg.Now()
	if r := h.cfg.Recorder; r != nil {
		s.Decisions = r.Totals(s.Now)
		s.Refusals = r.Refusals()
		if s.HTTPAuth != nil {
			s.HTTPAuth.LastMinute = r.LastMinute(s.Now)["httpauth"]
		}
	}
	// Lists, even empty, are lists in the JSON form: a script iterates.
	s.Attached, s.Features, s.Health = orEmpty(s.Attached), orEmpty(s.Features), orEmpty(s.Health)
	s.Decisions, s.Refusals, s.Locks = orEmpty(s.Decisions), orEmpty(s.Refusals), orEmpty(s.Locks)
	return s
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeJSON serves the snapshot as JSON, for scripts.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h.snapshot(ctx)); err != nil {
		h.cfg.Log.Warn("status snapshot", "error", err)
	}
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, _ string, dryRun []string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v := view{Snapshot: h.snapshot(ctx), CSRF: h.csrf, DryRun: dryRun, LookupMax: LookupMax}
	now := v.Now
	v.Split = SplitLocks(ctx, v.Locks, h.cfg.IsAccount, LookupMax)
	v.OthersTotal = len(v.Split.Others)
	if v.OthersTotal > OtherRowsMax {
		v.Split.Others, v.OthersMore = v.Split.Others[:OtherRowsMax], v.OthersTotal-OtherRowsMax
	}
	q := r.URL.Query()
	if msg, ok := doneMessages[q.Get("done")]; ok && hmac.Equal([]byte(q.Get("mac")), []byte(h.doneMAC(q.Get("done"), q.Get("name")))) {
		v.Done = fmt.Sprintf(msg, Printable(q.Get("name")))
	}
	if h.cfg.Recorder != nil {
		v.Chart = h.cfg.Recorder.Chart(now, Kind)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		h.cfg.Log.Warn("status page", "error", err)
	}
}

// Kind sorts a decision's result: "accepted" (a sign-in or lookup
// accepted, the outage grace included), "fault" (the wiki or something
// else failed) or "refused".
func Kind(result string) string {
	switch result {
	case provider.ResultAccepted, provider.ResultOutageGrace:
		return "accepted"
	case provider.ResultDBUnavailable, provider.ResultError:
		return "fault"
	}
	return "refused"
}
