package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/provider/expiring"
	"livechat-auth/wikidb"
)

// Resolver decides which account a request names and whether it may
// chat; *provider.Authenticator implements it.
type Resolver interface {
	Resolve(ctx context.Context, l provider.Lookup) (provider.Account, error)
}

// Profiles reads what the chat shows of a user; *wikidb.Store implements
// it.
type Profiles interface {
	Groups(ctx context.Context, userID int64) ([]string, error)
	RealName(ctx context.Context, login string) (string, error)
}

// Minter signs tokens; *token.Minter implements it.
type Minter interface {
	Mint(subjectClaim, subject string) (string, time.Time, error)
}

// Config configures a Handler.
type Config struct {
	Key          []byte        // HMAC key shared with the wiki; at least 32 bytes
	MaxSkew      time.Duration // timestamp window (default 5m)
	Domain       string        // XMPP domain of the JIDs; required
	SubjectClaim string        // the claim that holds the subject (default "sub")
	WebSocketURL string        // handed to the widget
	BOSHURL      string
	MigrationURL string // where an unmigrated account is sent
	AvatarURL    string // template; {login} is replaced
	Now          func() time.Time
	Observe      provider.Observer // told of every decision, for metrics; optional
	Seen         SeenRecord        // the once-only record to use; nil: a new Seen
	// Granted, when set, is told of every granted session's JID and
	// profile (to make the chat server's vCard follow the wiki); it must
	// not block.
	Granted func(jid string, p Profile)
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// Handler serves POST /v1/sessions. It is safe for concurrent use.
type Handler struct {
	accounts Resolver
	profiles Profiles
	minter   Minter
	log      hclog.Logger
	cfg      Config

	seen SeenRecord
}

// SeenRecord is the once-only record of verified requests: *Seen keeps it
// in this process, package state shares it among several sidecars.
type SeenRecord interface {
	// FirstUse records the verified MAC of a request stamped ts (unix
	// seconds) and reports whether it is new. An error means the record
	// cannot tell; the request is refused.
	FirstUse(ctx context.Context, mac []byte, ts int64, now time.Time, maxSkew time.Duration) (bool, error)
}

// Seen is the once-only record of verified requests. One Seen may serve
// several Handlers in turn (serve keeps one across reloads, so a reload
// does not make a used request good again). It is safe for concurrent use.
//
// A request is forgotten only once its timestamp is too old for the
// skew in force, and the record then refuses every request with a
// timestamp that old, whatever the skew: a reload that widens
// session.max_skew cannot make a forgotten request good again.
type Seen struct {
	seen  *expiring.Set[string] // verified MAC bytes, until too old for the skew in force
	floor atomic.Int64          // timestamps below this may have been forgotten: refused
}

// NewSeen returns an empty record.
func NewSeen() *Seen { return &Seen{seen: expiring.New[string]()} }

// New returns a Handler. accounts decides which account a request names
// (and the token subject it gets); profiles reads its groups and name.
func New(accounts Resolver, profiles Profiles, minter Minter, log hclog.Logger, cfg Config) (*Handler, error) {
	switch {
	case accounts == nil || profiles == nil || minter == nil || log == nil:
		return nil, errors.New("session: nil dependency")
	case len(cfg.Key) < 32:
		return nil, errors.New("session: key shorter than 32 bytes")
	case cfg.Domain == "":
		return nil, errors.New("session: no XMPP domain")
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seen := cfg.Seen
	if seen == nil {
		seen = NewSeen()
	}
	return &Handler{accounts: accounts, profiles: profiles, minter: minter, log: log, cfg: cfg, seen: seen}, nil
}

// Request is the JSON body the wiki sends. One of Login and UserID names
// the user.
type Request struct {
	Login    string          `json:"login,omitempty"`
	UserID   int64           `json:"user_id,omitempty"`
	Locale   string          `json:"locale,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Nonce makes two requests for one user in the same second distinct:
	// a signed request is good for one session.
	Nonce string `json:"nonce,omitempty"`
}

// Response is the JSON answer to a granted session.
type Response struct {
	JID          string    `json:"jid"`
	Token        string    `json:"token"`
	ExpiresAt    time.Time `json:"expires_at"`
	ExpiresIn    int       `json:"expires_in"`
	WebSocketURL string    `json:"websocket_url,omitempty"`
	BOSHURL      string    `json:"bosh_url,omitempty"`
	Profile      Profile   `json:"profile"`
}

// Profile is what the chat should show of the user.
type Profile struct {
	Login       string   `json:"login"`
	DisplayName string   `json:"display_name"`
	Locale      string   `json:"locale,omitempty"`
	AvatarURL   string   `json:"avatar_url,omitempty"`
	Groups      []string `json:"groups"`
}

// Error is the JSON answer to a refused request.
type Error struct {
	Error        string `json:"error"`
	Message      string `json:"message"`
	MigrationURL string `json:"migration_url,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	body, refused := h.endpoint().Read(w, r, start)
	if refused != nil {
		if refused.Code == "state-unavailable" {
			h.log.Warn("session refused: the record of used requests did not answer")
		}
		h.fail(w, refused.Status, Error{Error: refused.Code, Message: refused.Message}, start, "")
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		h.fail(w, http.StatusBadRequest, Error{Error: "bad-request", Message: err.Error()}, start, "")
		return
	}
	resp, status, refusal := h.grant(r.Context(), req)
	if refusal != nil {
		h.fail(w, status, *refusal, start, req.Login)
		return
	}
	h.log.Info("session granted", "login", resp.Profile.Login, "jid", resp.JID, "duration", time.Since(start))
	if h.cfg.Granted != nil {
		h.cfg.Granted(resp.JID, resp.Profile)
	}
	h.observe(resp.Profile.Login, "accepted", start)
	if wantsJWT(r.Header.Get("Accept")) {
		// The bare token, as widgets that fetch one expect (Dynamics
		// Omnichannel's authenticated chat, among others).
		w.Header().Set("Content-Type", "application/jwt")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, resp.Token) // the caller went away: nothing to do
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

// wantsJWT reports whether an Accept header prefers application/jwt to
// JSON: its quality is higher than that of application/json (or of a
// wildcard that covers JSON), or equal and listed first.
func wantsJWT(accept string) bool {
	jwtQ, jsonQ := -1.0, -1.0
	jwtAt, jsonAt := 0, 0
	for i, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch mt {
		case "application/jwt":
			if q > jwtQ {
				jwtQ, jwtAt = q, i
			}
		case "application/json", "application/*", "*/*":
			if q > jsonQ {
				jsonQ, jsonAt = q, i
			}
		}
	}
	return jwtQ > 0 && (jwtQ > jsonQ || (jwtQ == jsonQ && jwtAt < jsonAt))
}

// requestFields are the keys a request body may hold, spelled exactly.
var requestFields = []string{"login", "user_id", "locale", "metadata", "nonce"}

// decodeRequest reads a request body strictly (see DecodeObject), with
// exactly one of login and user_id.
func decodeRequest(body []byte) (Request, error) {
	if _, err := DecodeObject(body, requestFields...); err != nil {
		return Request{}, err
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return Request{}, fmt.Errorf("a field has the wrong type: %v", err)
	}
	if (req.Login == "") == (req.UserID == 0) {
		return Request{}, errors.New("give exactly one of login and user_id")
	}
	return req, nil
}

// FirstUse records a verified MAC, of a request stamped ts, and reports
// whether it is new: a captured request cannot mint more tokens while its
// timestamp is valid. The record is keyed on the MAC's bytes (what was
// verified, a function of timestamp and body), never on how the header
// spelled them.
func (s *Seen) FirstUse(_ context.Context, verified []byte, ts int64, now time.Time, maxSkew time.Duration) (bool, error) {
	return s.firstUse(verified, ts, now, maxSkew), nil
}

func (s *Seen) firstUse(verified []byte, ts int64, now time.Time, maxSkew time.Duration) bool {
	// What the skew in force refuses as stale may be forgotten: from now
	// on refuse whatever is that old.
	cutoff := now.Add(-maxSkew).Unix() - 1
	floor := s.floor.Load()
	for cutoff > floor && !s.floor.CompareAndSwap(floor, cutoff) {
		floor = s.floor.Load()
	}
	floor = max(floor, cutoff)
	if ts < floor {
		return false
	}
	// The record's clock is the floor: a request is held while its
	// timestamp is at or above it, so it is forgotten only once refused
	// as that old.
	return s.seen.AddNew(string(verified), time.Unix(ts+1, 0), time.Unix(floor, 0))
}

// grant resolves the account, reads its profile and mints a token.
func (h *Handler) grant(ctx context.Context, req Request) (Response, int, *Error) {
	acct, err := h.accounts.Resolve(ctx, provider.Lookup{Login: req.Login, UserID: req.UserID, Domain: h.cfg.Domain})
	var reason provider.Reason
	switch {
	case errors.Is(err, provider.ReasonUnknownUser):
		return Response{}, http.StatusNotFound, &Error{Error: string(provider.ReasonUnknownUser), Message: "no such wiki account"}
	case errors.Is(err, provider.ReasonUnmigrated):
		return Response{}, http.StatusConflict, &Error{Error: string(provider.ReasonUnmigrated),
			Message: "the account has no chat name yet", MigrationURL: h.cfg.MigrationURL}
	case errors.Is(err, provider.ReasonBadLivechatID):
		return Response{}, http.StatusForbidden, &Error{Error: string(provider.ReasonBadLivechatID), Message: "the account's chat name is not valid"}
	case errors.As(err, &reason):
		return Response{}, http.StatusForbidden, &Error{Error: string(reason), Message: "the account may not chat"}
	case err != nil:
		return h.fault(err)
	}
	u := acct.User
	groups, err := h.profiles.Groups(ctx, u.ID)
	if err != nil {
		return h.fault(err)
	}
	sort.Strings(groups)
	name, err := h.profiles.RealName(ctx, u.Login)
	if err != nil || name == "" {
		name = u.Login
	}
	raw, exp, err := h.minter.Mint(h.cfg.SubjectClaim, acct.Subject)
	if err != nil {
		h.log.Error("cannot mint a token", "error", err)
		return Response{}, http.StatusInternalServerError, &Error{Error: "error", Message: "no token could be made"}
	}
	return Response{
		JID: acct.JID.String(), Token: raw, ExpiresAt: exp.UTC(), ExpiresIn: int(exp.Sub(h.cfg.Now()).Round(time.Second).Seconds()),
		WebSocketURL: h.cfg.WebSocketURL, BOSHURL: h.cfg.BOSHURL,
		Profile: Profile{Login: u.Login, DisplayName: name, Locale: req.Locale, Groups: groups,
			AvatarURL: strings.ReplaceAll(h.cfg.AvatarURL, "{login}", url.QueryEscape(u.Login))},
	}, http.StatusOK, nil
}

// fault is the answer to a technical fault: 503 db-unavailable when the
// wiki database did not answer, 500 error for anything else.
func (h *Handler) fault(err error) (Response, int, *Error) {
	if errors.Is(err, wikidb.ErrUnavailable) {
		h.log.Warn("wiki database unavailable", "error", err)
		return Response{}, http.StatusServiceUnavailable, &Error{Error: provider.ResultDBUnavailable, Message: "the wiki database did not answer"}
	}
	h.log.Error("session failed", "error", err)
	return Response{}, http.StatusInternalServerError, &Error{Error: provider.ResultError, Message: "the session could not be granted"}
}

// fail writes an error answer and its log line.
func (h *Handler) fail(w http.ResponseWriter, status int, e Error, start time.Time, login string) {
	level := hclog.Info
	if status >= 500 {
		level = hclog.Warn
	}
	h.log.Log(level, "session refused", "login", login, "reason", e.Error, "status", status, "duration", time.Since(start))
	h.observe(login, e.Error, start)
	WriteJSON(w, status, e)
}

func (h *Handler) observe(login, result string, start time.Time) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(provider.Decision{Cmd: "session", Name: login, Result: result, Took: h.cfg.Now().Sub(start)})
	}
}

// endpoint reads the session API's signed calls.
func (h *Handler) endpoint() Endpoint {
	return Endpoint{Key: h.cfg.Key, Seen: h.seen, MaxSkew: h.cfg.MaxSkew, MaxBody: maxBody}
}
