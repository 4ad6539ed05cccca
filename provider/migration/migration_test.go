package migration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/provider/session"
	"livechat-auth/wikidb"
)

var (
	testKey = []byte("a session key of at least 32 bytes!!")
	testNow = time.Unix(1_800_000_000, 0)
)

func ptr(s string) *string { return &s }

// fakeChat is a chat server holding old accounts (name → password).
type fakeChat struct {
	mu       sync.Mutex
	accounts map[string]string
	down     bool
	signIns  int
	noop     bool // reports a removal or change it did not do (ejabberd 23.01's retire)
}

func (c *fakeChat) signIn(name, password string) error {
	c.signIns++
	if c.down {
		return ErrUnavailable
	}
	if pw, ok := c.accounts[name]; !ok || pw != password {
		return ErrNotAuthorized
	}
	return nil
}

func (c *fakeChat) CheckPassword(_ context.Context, name, password string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signIn(name, password)
}

func (c *fakeChat) RemoveAccount(_ context.Context, name, password string, retire bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.signIn(name, password); err != nil {
		return err
	}
	if c.noop {
		return nil
	}
	if retire {
		c.accounts[name] = "random"
	} else {
		delete(c.accounts, name)
	}
	return nil
}

func (c *fakeChat) Exists(_ context.Context, name string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return false, ErrUnavailable
	}
	_, ok := c.accounts[name]
	return ok, nil
}

type setup struct {
	h    *Handler
	dir  *providertest.Directory
	chat *fakeChat
	auth *provider.Authenticator
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	dir := providertest.NewDirectory(wikidb.DefaultPrefs(),
		wikidb.User{ID: 2, Login: "alice", LivechatID: ptr("alice"), PassConfirm: 1},
		wikidb.User{ID: 3, Login: "nina", PassConfirm: 1, Waiting: "a"},
		wikidb.User{ID: 4, Login: "rupert", PassConfirm: 1},
		wikidb.User{ID: 5, Login: "newbie", PassConfirm: 1},
	)
	auth, err := provider.New(dir, provider.Config{Domains: []string{"chat.test"}, Now: func() time.Time { return testNow },
		MaxFailures: 3, FailureWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	chat := &fakeChat{accounts: map[string]string{"rupe": "rupes-pw", "alice": "strangers-pw", "newbie": "x"}}
	suggest := func(_ context.Context, login string, reserved []string) (string, error) {
		id := login
		for n := 2; contains(reserved, id); n++ {
			id = login + strconv.Itoa(n)
		}
		return id, nil
	}
	h, err := New(auth, chat, suggest, hclog.NewNullLogger(), Config{Key: testKey, Domain: "chat.test", Seen: session.NewSeen(),
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return &setup{h: h, dir: dir, chat: chat, auth: auth}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var nonce int

func (s *setup) call(action, body string) (int, map[string]string) {
	nonce++
	if body == "" {
		body = `{"action":"` + action + `","login":"rupert","nonce":"` + strconv.Itoa(nonce) + `"}`
	}
	r := httptest.NewRequest(http.MethodPost, Prefix+action, strings.NewReader(body))
	r.Header.Set(session.HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10))
	r.Header.Set(session.HeaderSignature, session.Sign(testKey, testNow, []byte(body)))
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	var answer map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &answer) // a bad answer fails the checks below
	return w.Code, answer
}

func body(action, login, name, password string) string {
	nonce++
	b, _ := json.Marshal(map[string]string{"action": action, "login": login, "chat_name": name, "chat_password": password, "nonce": strconv.Itoa(nonce)})
	return string(b)
}

func TestMigrationCalls(t *testing.T) {
	s := newSetup(t)
	for _, c := range []struct {
		name, action, body string
		status             int
		want               string // error code, or livechat_id/old_account
	}{
		{"wrong password", "claim", body("claim", "rupert", "rupe", "nope"), 403, "bad-chat-password"},
		{"taken by a wiki account", "claim", body("claim", "rupert", "Alice", "strangers-pw"), 409, "chat-name-taken"},
		{"bad name", "claim", body("claim", "rupert", "a b", "x"), 400, "bad-chat-name"},
		{"empty name", "claim", body("claim", "rupert", "@chat.test", "x"), 400, "bad-chat-name"},
		{"other domain", "claim", body("claim", "rupert", "rupe@other.test", "rupes-pw"), 400, "bad-chat-name"},
		{"suspended", "claim", body("claim", "nina", "rupe", "rupes-pw"), 403, "suspended"},
		{"migrated", "claim", body("claim", "alice", "rupe", "rupes-pw"), 409, "already-migrated"},
		{"unknown login", "claim", body("claim", "Rupert", "rupe", "rupes-pw"), 404, "unknown-user"},
		{"complete too early", "complete", body("complete", "rupert", "rupe", "rupes-pw"), 409, "not-stored"},
		{"claim", "claim", body("claim", "rupert", "rupe@chat.test", "rupes-pw"), 200, "rupe"},
		{"action not the path", "claim", `{"action":"suggest","login":"rupert"}`, 400, "bad-request"},
		{"unknown field", "suggest", `{"action":"suggest","login":"rupert","chat_name":"x"}`, 400, "bad-request"},
		{"repeated field", "suggest", `{"action":"suggest","login":"rupert","login":"alice"}`, 400, "bad-request"},
		{"two objects", "suggest", `{"action":"suggest","login":"rupert"}{}`, 400, "bad-request"},
		{"not a string", "suggest", `{"action":"suggest","login":7}`, 400, "bad-request"},
		{"no password", "claim", `{"action":"claim","login":"rupert","chat_name":"rupe"}`, 400, "bad-request"},
		{"unknown call", "remove", `{"action":"remove","login":"rupert"}`, 404, "not-found"},
		{"suggest", "suggest", "", 200, "rupert"},
		{"suggest, the chat server has the name", "suggest", `{"action":"suggest","login":"newbie"}`, 200, "newbie2"},
	} {
		status, answer := s.call(c.action, c.body)
		got := answer["error"]
		if status == 200 {
			got = answer["livechat_id"]
		}
		if status != c.status || got != c.want {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, answer, c.status, c.want)
		}
	}

	// The wiki stores the id; complete removes the old account, once.
	s.dir.Update(4, func(u *wikidb.User) { u.LivechatID = ptr("rupe") })
	if status, answer := s.call("complete", body("complete", "newbie", "rupe", "rupes-pw")); status != 409 || answer["error"] != "not-stored" {
		t.Errorf("complete for another account: %d %v", status, answer)
	}
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 200 || answer["old_account"] != "removed" {
		t.Errorf("complete: %d %v", status, answer)
	}
	if _, ok := s.chat.accounts["rupe"]; ok {
		t.Error("the old account is still there")
	}
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 200 || answer["old_account"] != "gone" {
		t.Errorf("complete again: %d %v", status, answer)
	}
}

func TestMigrationFailureLimit(t *testing.T) {
	s := newSetup(t)
	for i := 0; i < 4; i++ { // 3 tolerated, the 4th locks
		if status, _ := s.call("claim", body("claim", "rupert", "rupe", "guess"+strconv.Itoa(i))); status != 403 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	before := s.chat.signIns
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 429 || answer["error"] != "rate-limited" {
		t.Errorf("after 4 wrong passwords: %d %v", status, answer)
	}
	if s.chat.signIns != before {
		t.Error("a locked name was still tried on the chat server")
	}
	// Wrong sign-ins anyone sends the chat server under the name are
	// counted apart: they cannot keep the owner from migrating.
	s2 := newSetup(t)
	for i := 0; i < 6; i++ {
		_, _ = s2.auth.Authenticate(context.Background(), "rupe", "chat.test", "junk")
	}
	if status, answer := s2.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Errorf("claim after others' wrong sign-ins: %d %v", status, answer)
	}
}

func TestMigrationChatDown(t *testing.T) {
	s := newSetup(t)
	s.chat.down = true
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 503 || answer["error"] != "chat-unavailable" {
		t.Errorf("claim: %d %v", status, answer)
	}
	if status, answer := s.call("suggest", ""); status != 503 || answer["error"] != "chat-unavailable" {
		t.Errorf("suggest: %d %v", status, answer)
	}
	// A fault is nobody's failure: the name is not locked by it.
	s.chat.down = false
	for i := 0; i < 4; i++ {
		s.chat.down = true
		s.call("claim", body("claim", "rupert", "rupe", "rupes-pw"))
	}
	s.chat.down = false
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Errorf("after faults: %d %v", status, answer)
	}
	s.dir.SetErr(errors.New("down"))
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 500 && status != 503 {
		t.Errorf("wiki down: %d %v", status, answer)
	}
}

func TestMigrationSignature(t *testing.T) {
	s := newSetup(t)
	b := `{"action":"suggest","login":"rupert","nonce":"once"}`
	if status, _ := s.call("suggest", b); status != 200 {
		t.Fatalf("first: %d", status)
	}
	if status, answer := s.call("suggest", b); status != 401 || answer["error"] != "replayed" {
		t.Errorf("replay: %d %v", status, answer)
	}
	r := httptest.NewRequest(http.MethodPost, Prefix+"suggest", strings.NewReader(`{"action":"suggest","login":"rupert"}`))
	r.Header.Set(session.HeaderTimestamp, strconv.FormatInt(testNow.Unix(), 10))
	r.Header.Set(session.HeaderSignature, session.Sign([]byte("another key of at least 32 bytes....."), testNow, []byte(`{"action":"suggest","login":"rupert"}`)))
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Errorf("wrong key: %d", w.Code)
	}
	r = httptest.NewRequest(http.MethodGet, Prefix+"suggest", nil)
	w = httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", w.Code, w.Header())
	}
}

func TestMigrationCompleteChecksTheOldPasswordStopped(t *testing.T) {
	s := newSetup(t)
	s.chat.noop = true
	s.dir.Update(4, func(u *wikidb.User) { u.LivechatID = ptr("rupe") })
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 502 || answer["error"] != "chat-refused" {
		t.Errorf("a removal the server did not do: %d %v", status, answer)
	}
}

// aToken is shaped as a sign-in token; none is verified, so none is used.
const aToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJydXBlIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

// TestMigrationRefusesWikiCredentials: what livechat-auth itself accepts
// for the name (a token, the wiki password) signs in through the wiki:
// claim and complete refuse it before the chat server is asked, so
// nothing is removed with it and no token is used up.
func TestMigrationRefusesWikiCredentials(t *testing.T) {
	s := newSetup(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("rupert-wiki-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s.dir.Update(4, func(u *wikidb.User) { u.Hash = string(hash) })
	before := s.chat.signIns
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", aToken)); status != 409 || answer["error"] != "wiki-token" {
		t.Errorf("claim with a token: %d %v", status, answer)
	}
	s.dir.Update(4, func(u *wikidb.User) { u.LivechatID = ptr("rupe") })
	for _, c := range []struct{ password, want string }{{aToken, "wiki-token"}, {"rupert-wiki-pw", "wiki-password"}} {
		if status, answer := s.call("complete", body("complete", "rupert", "rupe", c.password)); status != 409 || answer["error"] != c.want {
			t.Errorf("complete with %s: %d %v", c.want, status, answer)
		}
	}
	if s.chat.signIns != before {
		t.Errorf("the chat server was asked %d times with a credential of the wiki's", s.chat.signIns-before)
	}
	if _, ok := s.chat.accounts["rupe"]; !ok {
		t.Error("the old account was removed")
	}
	// Refusing them is no failure: the right password still completes.
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 200 || answer["old_account"] != "removed" {
		t.Errorf("complete: %d %v", status, answer)
	}
}

// TestMigrationClaimsCounted: a claim is counted before "taken" is
// answered, per wiki account, so one account cannot list the wiki's chat
// names; and another account's wrong claims of a name cannot block its
// owner, while guesses at one name stay bounded over every claimer.
func TestMigrationClaimsCounted(t *testing.T) {
	s := newSetup(t)
	for i, login := range []string{"peggy", "p2", "p3", "p4"} {
		s.dir.Add(wikidb.User{ID: int64(10 + i), Login: login, PassConfirm: 1})
	}
	for i, name := range []string{"alice", "ALICE", "Alice", "alice"} { // 3 tolerated, the 4th locks
		if status, answer := s.call("claim", body("claim", "peggy", name, "x")); status != 409 || answer["error"] != "chat-name-taken" {
			t.Fatalf("taken name %d: %d %v", i, status, answer)
		}
	}
	before := s.chat.signIns
	if status, answer := s.call("claim", body("claim", "peggy", "alice", "x")); status != 429 || answer["error"] != "rate-limited" {
		t.Errorf("a fifth claim of a taken name: %d %v, want 429 before the answer", status, answer)
	}
	if status, answer := s.call("claim", body("claim", "peggy", "rupe", "guess")); status != 429 {
		t.Errorf("peggy's claim of another name after her budget: %d %v", status, answer)
	}
	if s.chat.signIns != before {
		t.Error("a claim over the budget was tried on the chat server")
	}
	// p2 and p3 guess rupe's password: each is stopped by its own budget,
	// and rupert's right password still proves the name.
	for _, login := range []string{"p2", "p3"} {
		for i := 0; i < 5; i++ {
			s.call("claim", body("claim", login, "rupe", "guess"+strconv.Itoa(i)))
		}
	}
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Errorf("the owner's claim after others' wrong claims: %d %v", status, answer)
	}
	// Every claimer's guesses at one name are bounded: 4 × 3 = 12 at most.
	guessed := 0
	for _, login := range []string{"p4", "newbie"} {
		for i := 0; i < 5; i++ {
			if status, _ := s.call("claim", body("claim", login, "newbie", "guess")); status == 403 {
				guessed++
			}
		}
	}
	for _, login := range []string{"p2", "p3"} { // their budget is spent
		if status, _ := s.call("claim", body("claim", login, "newbie", "guess")); status == 403 {
			t.Errorf("%s guessed again after its budget", login)
		}
	}
	if guessed != 8 {
		t.Errorf("%d guesses at newbie from two fresh claimers, want 8", guessed)
	}
	locks := map[string]bool{}
	for _, l := range s.auth.Locks() {
		locks[l.Name] = true
	}
	for _, want := range []string{"migration-by:peggy", "migration-by:p2", "migration-by:p3", "migration-by:p4"} {
		if !locks[want] {
			t.Errorf("Locks() = %v, want %s", locks, want)
		}
	}
	if locks["migration:rupe"] {
		t.Error("rupe's proofs are locked under the name's cap")
	}
}

// TestOldAccountSignInsDoNotLock: between the wiki storing the name and
// complete, the old account's own sign-ins reach us first ([external,
// internal]): a password the claim proved is refused as old-account
// without counting, so the wiki password keeps working; wrong passwords
// still lock; complete forgets the proof.
func TestOldAccountSignInsDoNotLock(t *testing.T) {
	s := newSetup(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("rupert-wiki-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s.dir.Update(4, func(u *wikidb.User) { u.Hash = string(hash) })
	if status, answer := s.call("claim", body("claim", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Fatalf("claim: %d %v", status, answer)
	}
	s.dir.Update(4, func(u *wikidb.User) { u.LivechatID = ptr("rupe") })
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := s.auth.Authenticate(ctx, "rupe", "chat.test", "rupes-pw"); !errors.Is(err, provider.ReasonOldAccount) {
			t.Fatalf("old account's sign-in %d: %v, want old-account", i, err)
		}
	}
	if _, err := s.auth.Authenticate(ctx, "rupe", "chat.test", "rupert-wiki-pw"); err != nil {
		t.Fatalf("the wiki password after the old account's sign-ins: %v", err)
	}
	for i := 0; i < 4; i++ {
		_, _ = s.auth.Authenticate(ctx, "rupe", "chat.test", "guess") // refused; only the lock matters
	}
	if _, ok := s.auth.LockOf("rupe"); !ok {
		t.Error("wrong passwords no longer lock")
	}
	// While locked, the old account's own sign-ins are no guesses either.
	for i := 0; i < 5; i++ {
		if _, err := s.auth.Authenticate(ctx, "rupe", "chat.test", "rupes-pw"); !errors.Is(err, provider.ReasonOldAccount) {
			t.Fatalf("old account's sign-in while locked: %v", err)
		}
	}
	if lk, _ := s.auth.LockOf("rupe"); lk.Guesses != 0 {
		t.Errorf("the old account's sign-ins were counted as %d guesses", lk.Guesses)
	}
	s.auth.Unlock("rupe")
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Fatalf("complete: %d %v", status, answer)
	}
	if _, err := s.auth.Authenticate(ctx, "rupe", "chat.test", "rupes-pw"); !errors.Is(err, provider.ReasonBadPassword) {
		t.Errorf("the old password after complete: %v, want bad-password", err)
	}
}

// FuzzDecode: a body is refused or decodes to a request of the path's
// action with the fields the action needs.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"action":"claim","login":"rupert","chat_name":"rupe","chat_password":"pw"}`), "claim")
	f.Add([]byte(`{"action":"suggest","login":"rupert","nonce":"1"}`), "suggest")
	f.Add([]byte(`{"action":"complete","login":"r","chat_name":"x","chat_password":"a\u0000b"}`), "complete")
	f.Fuzz(func(t *testing.T, body []byte, action string) {
		if _, ok := fields[action]; !ok {
			return
		}
		req, err := decode(body, action)
		if err != nil {
			return
		}
		if req.Action != action || req.Login == "" || (action != "suggest" && (req.ChatName == "" || req.ChatPassword == "")) {
			t.Fatalf("accepted %q at %s as %+v", body, action, req)
		}
	})
}

// TestMigrationTakenCostsTheAsker: "taken" answers count against the
// claimer only, so several accounts asking about a name cannot use up the
// name's cap and block its owner's proof.
func TestMigrationTakenCostsTheAsker(t *testing.T) {
	s := newSetup(t)
	for i := range 6 {
		s.dir.Add(wikidb.User{ID: int64(20 + i), Login: "m" + strconv.Itoa(i), PassConfirm: 1})
	}
	s.dir.Update(4, func(u *wikidb.User) { u.LivechatID = ptr("rupe") }) // rupert stored rupe, not yet completed
	for i := range 6 {
		for range 5 {
			s.call("claim", body("claim", "m"+strconv.Itoa(i), "RUPE", "x"))
		}
	}
	if status, answer := s.call("complete", body("complete", "rupert", "rupe", "rupes-pw")); status != 200 {
		t.Errorf("the owner's complete after others asked about the name 30 times: %d %v", status, answer)
	}
	// A token is refused before anything about a name is answered, and
	// costs nothing: it cannot list names uncounted or counted.
	for range 10 {
		if status, answer := s.call("claim", body("claim", "newbie", "free", aToken)); status != 409 || answer["error"] != "wiki-token" {
			t.Fatalf("claim with a token: %d %v", status, answer)
		}
	}
	if status, answer := s.call("claim", body("claim", "newbie", "newbie", "x")); status != 200 {
		t.Errorf("newbie's own claim after token refusals: %d %v", status, answer)
	}
}
