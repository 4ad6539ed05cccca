// Package migration serves the migration API the wiki's migration page
// calls (POST /v1/migration/claim, /suggest and /complete), signed with
// the session key like the session API. It tells the page which
// livechat_id an unmigrated wiki account should get: the name of an old
// chat account whose password the user proved to the chat server itself,
// or a fresh one no wiki account and no chat account holds. Once the wiki
// has stored the id, it removes the old chat account so its password
// stops working. It never writes the wiki database: the page does.
package migration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/provider/session"
	"livechat-auth/wikidb"
)

// Accounts decides about wiki accounts; *provider.Authenticator
// implements it.
type Accounts interface {
	Migratable(ctx context.Context, login string) (wikidb.User, error)
	Migrated(ctx context.Context, login, name string) (provider.Account, error)
	LivechatIDOwner(ctx context.Context, name string) (wikidb.User, bool, error)
	ChatAttempt(ctx context.Context, login, name string) (settle func(provider.Outcome), err error)
	ProveOldPassword(ctx context.Context, name, password string)
	ClearFailures(ctx context.Context, login, name string)
	WikiCredential(ctx context.Context, name, domain, password string) error
}

// ChatServer is where the old chat accounts live; package
// xmpp/oldaccount implements it. Its errors are ErrNotAuthorized for a
// refused password, ErrRefused for a refused removal and ErrUnavailable
// for faults.
type ChatServer interface {
	CheckPassword(ctx context.Context, name, password string) error
	RemoveAccount(ctx context.Context, name, password string, retire bool) error
	Exists(ctx context.Context, name string) (bool, error)
}

// The errors a ChatServer answers with.
var (
	ErrNotAuthorized = errors.New("the chat server refused the name and password")
	ErrRefused       = errors.New("the chat server refused")
	ErrUnavailable   = errors.New("chat server unavailable")
)

// Suggester returns the livechat_id Suggest would give login, unique
// among the wiki's livechat_ids and the names in reserved, under the
// wiki's collation.
type Suggester func(ctx context.Context, login string, reserved []string) (string, error)

// Config configures a Handler.
type Config struct {
	Key     []byte        // the session key; at least 32 bytes
	MaxSkew time.Duration // default 5m
	Domain  string        // XMPP domain of the accounts; required
	// Retire keeps the old account and replaces its password with a
	// random one instead of removing it (servers delete an account's
	// roster and archive with it).
	Retire  bool
	Seen    session.SeenRecord // shared with the session API: a signed request is good once anywhere
	Now     func() time.Time
	Observe provider.Observer
}

// Handler serves the migration API. It is safe for concurrent use.
type Handler struct {
	accounts Accounts
	chat     ChatServer
	suggest  Suggester
	log      hclog.Logger
	cfg      Config
}

// New returns a Handler.
func New(accounts Accounts, chat ChatServer, suggest Suggester, log hclog.Logger, cfg Config) (*Handler, error) {
	switch {
	case accounts == nil || chat == nil || suggest == nil || log == nil || cfg.Seen == nil:
		return nil, errors.New("migration: nil dependency")
	case len(cfg.Key) < 32:
		return nil, errors.New("migration: key shorter than 32 bytes")
	case cfg.Domain == "":
		return nil, errors.New("migration: no XMPP domain")
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{accounts: accounts, chat: chat, suggest: suggest, log: log, cfg: cfg}, nil
}

// Request is the JSON body of every call. Action names the call and must
// match the path, so a body signed for one call is no good at another.
type Request struct {
	Action       string `json:"action"`
	Login        string `json:"login"`
	ChatName     string `json:"chat_name,omitempty"`
	ChatPassword string `json:"chat_password,omitempty"`
	Nonce        string `json:"nonce,omitempty"`
}

// fields are the keys each action's body holds (nonce is optional).
var fields = map[string][]string{
	"claim":    {"action", "login", "chat_name", "chat_password", "nonce"},
	"suggest":  {"action", "login", "nonce"},
	"complete": {"action", "login", "chat_name", "chat_password", "nonce"},
}

// Response is the answer to a call that succeeded.
type Response struct {
	LivechatID string `json:"livechat_id"`
	JID        string `json:"jid"`
	// OldAccount, from complete: "removed", "retired", or "gone" when
	// the password given no longer signs in (removed earlier).
	OldAccount string `json:"old_account,omitempty"`
}

// Error is the answer to a refused call.
type Error struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// maxBody bounds a request body.
const maxBody = 16 << 10

// Prefix is where the API is mounted.
const Prefix = "/v1/migration/"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	action := strings.TrimPrefix(r.URL.Path, Prefix)
	if _, ok := fields[action]; !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
		h.fail(w, http.StatusNotFound, "not-found", "the calls are claim, suggest and complete", start, "", "")
		return
	}
	endpoint := session.Endpoint{Key: h.cfg.Key, Seen: h.cfg.Seen, MaxSkew: h.cfg.MaxSkew, MaxBody: maxBody}
	body, refused := endpoint.Read(w, r, start)
	if refused != nil {
		h.fail(w, refused.Status, refused.Code, refused.Message, start, action, "")
		return
	}
	req, err := decode(body, action)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "bad-request", err.Error(), start, action, "")
		return
	}
	var resp Response
	var refusal *refusal
	switch action {
	case "claim":
		resp, refusal = h.claim(r.Context(), req)
	case "suggest":
		resp, refusal = h.suggestID(r.Context(), req)
	case "complete":
		resp, refusal = h.complete(r.Context(), req)
	}
	if refusal != nil {
		h.fail(w, refusal.status, refusal.code, refusal.message, start, action, req.Login, req.ChatName)
		return
	}
	h.log.Info("migration "+action, "login", req.Login, "livechat_id", resp.LivechatID, "old_account", resp.OldAccount, "duration", time.Since(start))
	h.observe(action, req.Login, "accepted", start)
	session.WriteJSON(w, http.StatusOK, resp)
}

// refusal is a call's refusal: status, code and a message for the page.
type refusal struct {
	status        int
	code, message string
}

func refuse(status int, code, message string) *refusal {
	return &refusal{status: status, code: code, message: message}
}

// claim proves the old chat account's password and answers its name as
// the livechat_id to store. The attempt is counted before anything about
// the name is answered, so "another wiki account holds it" costs what a
// wrong password costs.
func (h *Handler) claim(ctx context.Context, req Request) (Response, *refusal) {
	if _, err := h.accounts.Migratable(ctx, req.Login); err != nil {
		return Response{}, h.accountRefusal(err)
	}
	name, bad := h.chatName(req.ChatName)
	if bad != nil {
		return Response{}, bad
	}
	// A token is refused before anything about the name is answered, so
	// it cannot ask about names uncounted.
	if provider.LooksLikeWikiToken(req.ChatPassword) {
		return Response{}, tokenRefusal
	}
	settle, bad := h.attempt(ctx, req.Login, name)
	if bad != nil {
		return Response{}, bad
	}
	if bad := h.free(ctx, name, req.Login); bad != nil {
		if bad.code == "chat-name-taken" {
			settle(provider.OutcomeTaken)
		} else {
			settle(provider.OutcomeRight)
		}
		return Response{}, bad
	}
	if bad := h.notWikiCredential(ctx, name, req.ChatPassword); bad != nil {
		settle(provider.OutcomeRight)
		return Response{}, bad
	}
	err := h.chat.CheckPassword(ctx, name, req.ChatPassword)
	settle(outcome(err))
	if err != nil {
		return Response{}, h.chatRefusal(err, name)
	}
	h.accounts.ProveOldPassword(ctx, name, req.ChatPassword)
	return h.answer(name, "")
}

// outcome is how a chat server's answer counts.
func outcome(err error) provider.Outcome {
	if errors.Is(err, ErrNotAuthorized) {
		return provider.OutcomeWrong
	}
	return provider.OutcomeRight
}

var tokenRefusal = refuse(http.StatusConflict, string(provider.ReasonWikiToken),
	"this is a sign-in token, which signs in through the wiki: give the old chat account's own password")

// attempt counts a claim or completion (see provider's ChatAttempt).
func (h *Handler) attempt(ctx context.Context, login, name string) (settle func(provider.Outcome), bad *refusal) {
	settle, err := h.accounts.ChatAttempt(ctx, login, name)
	var lock *provider.ClaimLock
	switch {
	case errors.As(err, &lock):
		h.log.Info("migration attempt refused: too many wrong claims", "login", login, "livechat_id", name, "lock", lock.Key)
		return nil, refuse(http.StatusTooManyRequests, string(provider.ReasonRateLimited), "too many wrong claims: try again later")
	case err != nil:
		return nil, h.fault(err)
	}
	return settle, nil
}

// notWikiCredential refuses a "chat password" that livechat-auth itself
// accepts for name: the chat server would sign it in through the wiki,
// and removing "the old account" with it would remove whatever the
// server keeps under the name (the migrated user's roster and archive,
// or on Prosody with a fallback, a stranger's internal account).
func (h *Handler) notWikiCredential(ctx context.Context, name, password string) *refusal {
	switch err := h.accounts.WikiCredential(ctx, name, h.cfg.Domain, password); {
	case err == nil:
		return nil
	case errors.Is(err, provider.ReasonWikiToken):
		return tokenRefusal
	case errors.Is(err, provider.ReasonWikiPassword):
		return refuse(http.StatusConflict, string(provider.ReasonWikiPassword),
			"this is the wiki password, which signs in through the wiki: give the old chat account's own password")
	default:
		return h.fault(err)
	}
}

// suggestID answers a fresh livechat_id for a user with no chat account.
func (h *Handler) suggestID(ctx context.Context, req Request) (Response, *refusal) {
	if _, err := h.accounts.Migratable(ctx, req.Login); err != nil {
		return Response{}, h.accountRefusal(err)
	}
	var reserved []string
	for range maxSuggestRounds {
		id, err := h.suggest(ctx, req.Login, reserved)
		if err != nil {
			return Response{}, h.fault(err)
		}
		exists, err := h.chat.Exists(ctx, id)
		if err != nil {
			return Response{}, h.chatRefusal(err, id)
		}
		if !exists {
			return h.answer(id, "")
		}
		reserved = append(reserved, id)
	}
	h.log.Error("no free livechat_id found: the chat server says every name tried exists (ejabberd answers user-stats for any name: set migration.ejabberd_api_url)", "login", req.Login, "tried", len(reserved))
	return Response{}, refuse(http.StatusServiceUnavailable, "chat-unavailable", "no free chat name was found")
}

// maxSuggestRounds bounds how many suggestions the chat server may turn
// down.
const maxSuggestRounds = 10

// complete removes the old chat account once the wiki carries its name.
func (h *Handler) complete(ctx context.Context, req Request) (Response, *refusal) {
	name, bad := h.chatName(req.ChatName)
	if bad != nil {
		return Response{}, bad
	}
	if _, err := h.accounts.Migrated(ctx, req.Login, name); err != nil {
		switch {
		case errors.Is(err, provider.ReasonUnknownUser):
			return Response{}, refuse(http.StatusNotFound, string(provider.ReasonUnknownUser), "no such wiki account")
		case errors.Is(err, provider.ReasonUnmigrated), errors.Is(err, provider.ReasonNotStored), errors.Is(err, provider.ReasonBadLivechatID):
			return Response{}, refuse(http.StatusConflict, string(provider.ReasonNotStored),
				"the wiki account does not carry this livechat_id yet: store it first, then complete")
		}
		return Response{}, h.accountRefusal(err)
	}
	settle, bad := h.attempt(ctx, req.Login, name)
	if bad != nil {
		return Response{}, bad
	}
	// What signs in through the wiki does whether or not an old account
	// is left: removing "it" would remove what the server keeps under the
	// name.
	if bad := h.notWikiCredential(ctx, name, req.ChatPassword); bad != nil {
		settle(provider.OutcomeRight)
		return Response{}, bad
	}
	err := h.chat.RemoveAccount(ctx, name, req.ChatPassword, h.cfg.Retire)
	settle(outcome(err))
	switch {
	case errors.Is(err, ErrNotAuthorized):
		// Removed by an earlier call, or the password is not the old
		// one: either way it no longer signs in.
		return h.answer(name, "gone")
	case err != nil:
		return Response{}, h.chatRefusal(err, name)
	}
	// The old password must no longer sign in (ejabberd 23.01 reports a
	// password change in [external, internal] mode done without doing it).
	switch err := h.chat.CheckPassword(ctx, name, req.ChatPassword); {
	case err == nil:
		h.log.Error("the old chat account still signs in with its old password after the chat server accepted its removal", "livechat_id", name, "retire", h.cfg.Retire)
		return Response{}, refuse(http.StatusBadGateway, "chat-refused", "the chat server did not close the old account")
	case !errors.Is(err, ErrNotAuthorized):
		return Response{}, h.chatRefusal(err, name)
	}
	h.accounts.ClearFailures(ctx, req.Login, name)
	switch {
	case h.cfg.Retire:
		h.log.Info("old chat account's password retired", "livechat_id", name, "login", req.Login)
		return h.answer(name, "retired")
	}
	h.log.Info("old chat account removed", "livechat_id", name, "login", req.Login)
	return h.answer(name, "removed")
}

// chatName checks a chat name given as "name" or "name@domain".
func (h *Handler) chatName(given string) (string, *refusal) {
	local, domain, qualified := strings.Cut(given, "@")
	if qualified && !strings.EqualFold(domain, h.cfg.Domain) {
		return "", refuse(http.StatusBadRequest, "bad-chat-name", fmt.Sprintf("the chat account must be on %s", h.cfg.Domain))
	}
	name, err := provider.NormalizeLocalpart(local)
	if err != nil || strings.TrimSpace(local) == "" {
		return "", refuse(http.StatusBadRequest, "bad-chat-name", "that is not a chat account name")
	}
	return name, nil
}

// free refuses a name another wiki account already holds.
func (h *Handler) free(ctx context.Context, name, login string) *refusal {
	owner, taken, err := h.accounts.LivechatIDOwner(ctx, name)
	switch {
	case err != nil:
		return h.fault(err)
	case taken && owner.Login != login:
		return refuse(http.StatusConflict, "chat-name-taken", "another wiki account already uses this chat name")
	}
	return nil
}

func (h *Handler) answer(name, old string) (Response, *refusal) {
	return Response{LivechatID: name, JID: name + "@" + h.cfg.Domain, OldAccount: old}, nil
}

// accountRefusal answers why a wiki account may not migrate.
func (h *Handler) accountRefusal(err error) *refusal {
	var reason provider.Reason
	switch {
	case errors.Is(err, provider.ReasonUnknownUser):
		return refuse(http.StatusNotFound, string(provider.ReasonUnknownUser), "no such wiki account")
	case errors.Is(err, provider.ReasonMigrated):
		return refuse(http.StatusConflict, string(provider.ReasonMigrated), "the wiki account already has a chat name")
	case errors.As(err, &reason):
		return refuse(http.StatusForbidden, string(reason), "the wiki account may not chat")
	}
	return h.fault(err)
}

// chatRefusal answers a chat server's refusal or fault.
func (h *Handler) chatRefusal(err error, name string) *refusal {
	switch {
	case errors.Is(err, ErrNotAuthorized):
		return refuse(http.StatusForbidden, "bad-chat-password", "the chat server did not accept this chat name and password")
	case errors.Is(err, ErrRefused):
		h.log.Error("the chat server refused to close an old account", "livechat_id", name, "error", err)
		return refuse(http.StatusBadGateway, "chat-refused", "the chat server refused to close the old account")
	}
	h.log.Warn("chat server unavailable for a migration", "livechat_id", name, "error", err)
	return refuse(http.StatusServiceUnavailable, "chat-unavailable", "the chat server did not answer")
}

// fault answers a technical fault.
func (h *Handler) fault(err error) *refusal {
	if errors.Is(err, wikidb.ErrUnavailable) {
		h.log.Warn("wiki database unavailable", "error", err)
		return refuse(http.StatusServiceUnavailable, provider.ResultDBUnavailable, "the wiki database did not answer")
	}
	h.log.Error("migration failed", "error", err)
	return refuse(http.StatusInternalServerError, provider.ResultError, "the migration could not be done")
}

func (h *Handler) fail(w http.ResponseWriter, status int, code, message string, start time.Time, action, login string, chatName ...string) {
	level := hclog.Info
	if status >= 500 {
		level = hclog.Warn
	}
	args := []any{"action", action, "login", login, "reason", code, "status", status, "duration", time.Since(start)}
	if len(chatName) > 0 && chatName[0] != "" {
		args = append(args, "chat_name", chatName[0])
	}
	h.log.Log(level, "migration refused", args...)
	h.observe(action, login, code, start)
	session.WriteJSON(w, status, Error{Error: code, Message: message})
}

func (h *Handler) observe(action, login, result string, start time.Time) {
	if h.cfg.Observe != nil && action != "" {
		h.cfg.Observe(provider.Decision{Cmd: action, Name: login, Result: result, Took: h.cfg.Now().Sub(start)})
	}
}

// decode reads a body strictly (see session.DecodeObject): JSON strings
// only, the action's keys, action matching the path, and login (and, but
// for suggest, chat_name and chat_password) present.
func decode(body []byte, action string) (Request, error) {
	values, err := session.DecodeStrings(body, fields[action]...)
	if err != nil {
		return Request{}, err
	}
	req := Request{Action: values["action"], Login: values["login"], ChatName: values["chat_name"], ChatPassword: values["chat_password"], Nonce: values["nonce"]}
	switch {
	case req.Action != action:
		return Request{}, fmt.Errorf("action must be %q at this path", action)
	case req.Login == "":
		return Request{}, errors.New("login is required")
	case action != "suggest" && (req.ChatName == "" || req.ChatPassword == ""):
		return Request{}, errors.New("chat_name and chat_password are required")
	case len(req.ChatPassword) > 1024 || strings.ContainsRune(req.ChatPassword, 0):
		return Request{}, errors.New("chat_password is not a password")
	}
	return req, nil
}
