package provider

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/cases"

	"livechat-auth/wikidb"
)

// fakeDirectory is an in-memory Directory that counts lookups.
type fakeDirectory struct {
	mu      sync.Mutex
	users   []wikidb.User
	prefs   wikidb.Prefs
	err     error
	lookups atomic.Int64
}

func (f *fakeDirectory) UserByLivechatID(_ context.Context, id string) (wikidb.User, bool, error) {
	f.lookups.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return wikidb.User{}, false, f.err
	}
	for _, u := range f.users { // a rough stand-in for utf8mb4_unicode_ci
		if u.LivechatID != nil && foldEqual(strings.TrimRight(*u.LivechatID, " "), id) { // PAD SPACE
			return u, true, nil
		}
	}
	for _, u := range f.users {
		if u.LivechatID == nil && strings.EqualFold(u.Login, id) {
			return u, true, nil
		}
	}
	return wikidb.User{}, false, nil
}

// foldEqual is a rough stand-in for utf8mb4_unicode_ci, which also equates
// ß and ss (and, unlike this, ignores accents).
func foldEqual(a, b string) bool {
	fold := cases.Fold()
	return fold.String(a) == fold.String(b)
}

func (f *fakeDirectory) Prefs(context.Context) (wikidb.Prefs, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.prefs, f.err
}

func (f *fakeDirectory) setHash(login, hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.users {
		if f.users[i].Login == login {
			f.users[i].Hash = hash
		}
	}
}

func ptr(s string) *string { return &s }

func mustBcrypt(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return "$2y$" + string(h[4:])
}

func newFixture(t testing.TB) (*fakeDirectory, *Authenticator) {
	good := func(id int64, login, lcid string) wikidb.User {
		return wikidb.User{ID: id, Login: login, Hash: mustBcrypt(t, login+"-pw"), LivechatID: ptr(lcid), PassConfirm: 1700000000}
	}
	users := []wikidb.User{
		good(1, "alice", "alice"),
		good(2, "Trent", "Trent.Support"),
	}
	bad := func(id int64, login string, change func(*wikidb.User)) {
		u := good(id, login, login)
		change(&u)
		users = append(users, u)
	}
	bad(3, "mallory", func(u *wikidb.User) { u.Waiting = "u" })
	bad(4, "nina", func(u *wikidb.User) { u.Waiting = "a" })
	bad(5, "oscar", func(u *wikidb.User) { u.Valid = "abc" })
	bad(6, "peggy", func(u *wikidb.User) { u.PassConfirm = 0 })
	bad(7, "quinn", func(u *wikidb.User) { u.TwoFactorSecret = "JBSWY3DPEHPK3PXP" })
	bad(8, "rupert", func(u *wikidb.User) { u.LivechatID = nil })
	bad(9, "ivan", func(u *wikidb.User) { u.Hash = "abJnggxhB/yWI" })
	bad(10, "judy", func(u *wikidb.User) { u.Hash = "" })
	bad(11, "ursula", func(u *wikidb.User) { u.LivechatID = ptr("ursula x") })
	bad(12, "zoe", func(u *wikidb.User) { u.LivechatID = ptr("zoë") })
	bad(13, "strasse", func(u *wikidb.User) { u.LivechatID = ptr("Straße") })
	dir := &fakeDirectory{users: users, prefs: wikidb.Prefs{ChangePassword: true, PassDueDays: -1, TwoFactorAuth: true}}
	a, err := New(dir, testConfig(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	return dir, a
}

// testConfig is the configuration an operator gets by default.
func testConfig(now func() time.Time) Config {
	return Config{Domains: []string{"chat.test"}, CacheTTL: 5 * time.Minute, CacheSize: 100,
		MaxFailures: 5, FailureWindow: time.Minute, Now: now}
}

func TestAuthenticateRules(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		domain   string
		password string
		want     error
	}{
		{"accepted", "alice", "chat.test", "alice-pw", nil},
		{"domain is case-insensitive", "alice", "Chat.Test", "alice-pw", nil},
		{"mixed-case livechat_id", "trent.support", "chat.test", "Trent-pw", nil},
		{"wrong password", "alice", "chat.test", "alice-pw2", ReasonBadPassword},
		{"unknown user", "nobody", "chat.test", "x", ReasonUnknownUser},
		{"other domain", "alice", "evil.test", "alice-pw", ReasonBadDomain},
		{"empty password", "alice", "chat.test", "", ReasonBadInput},
		{"NUL in password", "alice", "chat.test", "alice-pw\x00", ReasonBadInput},
		{"huge password", "alice", "chat.test", strings.Repeat("x", maxPasswordBytes+1), ReasonBadInput},
		{"bad localpart", "a b", "chat.test", "x", ReasonBadUsername},
		{"empty user", "", "chat.test", "x", ReasonBadUsername},
		{"e-mail not validated", "mallory", "chat.test", "mallory-pw", ReasonUnvalidated},
		{"suspended", "nina", "chat.test", "nina-pw", ReasonSuspended},
		{"unfinished registration", "oscar", "chat.test", "oscar-pw", ReasonUnfinished},
		{"valid code is not a password", "oscar", "chat.test", "abc", ReasonBadPassword},
		{"must change password", "peggy", "chat.test", "peggy-pw", ReasonMustChangePassword},
		{"2fa account", "quinn", "chat.test", "quinn-pw", ReasonTwoFactorRequired},
		{"unmigrated", "rupert", "chat.test", "rupert-pw", ReasonUnmigrated},
		{"unmigrated, wrong password", "rupert", "chat.test", "nope", ReasonBadPassword},
		{"crypt-DES hash", "ivan", "chat.test", "ivan-pw", ReasonUnsupportedHash},
		{"no local password", "judy", "chat.test", "judy-pw", ReasonNoLocalPassword},
		{"requested name not a localpart", "ursula x", "chat.test", "ursula-pw", ReasonBadUsername},
		{"accent-insensitive match is not the account", "zoe", "chat.test", "zoe-pw", ReasonUnknownUser},
		{"accented livechat_id", "zoë", "chat.test", "zoe-pw", nil},
		{"ß as ejabberd's nodeprep sends it", "strasse", "chat.test", "strasse-pw", nil},
		{"ß as typed", "straße", "chat.test", "strasse-pw", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a := newFixture(t)
			_, err := a.Authenticate(context.Background(), tt.user, tt.domain, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Authenticate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAuthenticateStoredLivechatIDInvalid(t *testing.T) {
	dir, a := newFixture(t)
	// The collation ignores trailing spaces, so "xena" finds this row, but
	// a stored id with a space can never be a Jabber ID.
	dir.users = append(dir.users, wikidb.User{ID: 20, Login: "xena", Hash: mustBcrypt(t, "pw"), LivechatID: ptr("Xena "), PassConfirm: 1})
	_, err := a.Authenticate(context.Background(), "xena", "chat.test", "pw")
	if !errors.Is(err, ReasonBadLivechatID) {
		t.Fatalf("Authenticate = %v, want %v", err, ReasonBadLivechatID)
	}
}

func TestAuthenticateDatabaseDown(t *testing.T) {
	dir, a := newFixture(t)
	down := errors.New("dial tcp: connection refused")
	dir.err = down
	_, err := a.Authenticate(context.Background(), "alice", "chat.test", "alice-pw")
	var r Reason
	if !errors.Is(err, down) || errors.As(err, &r) {
		t.Fatalf("Authenticate = %v, want the database error, not a refusal", err)
	}
	dir.err = nil
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestCacheSkipsHashUntilHashChanges(t *testing.T) {
	dir, a := newFixture(t)
	ctx := context.Background()
	acct, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw")
	if err != nil || acct.CacheHit {
		t.Fatalf("first sign-in: hit=%v err=%v", acct.CacheHit, err)
	}
	acct, err = a.Authenticate(ctx, "alice", "chat.test", "alice-pw")
	if err != nil || !acct.CacheHit {
		t.Fatalf("repeat: hit=%v err=%v, want a cache hit", acct.CacheHit, err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "wrong"); !errors.Is(err, ReasonBadPassword) {
		t.Fatalf("wrong password after a cached one: %v", err)
	}
	// The wiki changes the password: the old one stops working at once.
	dir.setHash("alice", mustBcrypt(t, "new-pw"))
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, ReasonBadPassword) {
		t.Fatalf("old password after a change: %v", err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "new-pw"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestCacheFollowsLoginRename(t *testing.T) {
	dir, a := newFixture(t)
	ctx := context.Background()
	// md5(login.pass), Tiki 1.9: the login is part of the hash input.
	sum := md5.Sum([]byte("alice" + "legacy-pw"))
	dir.setHash("alice", hex.EncodeToString(sum[:]))
	for i := 0; i < 2; i++ {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", "legacy-pw"); err != nil {
			t.Fatal(err)
		}
	}
	dir.mu.Lock()
	dir.users[0].Login = "alice2" // renamed in the wiki; the hash no longer matches
	dir.mu.Unlock()
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "legacy-pw"); !errors.Is(err, ReasonBadPassword) {
		t.Fatalf("after a rename: %v, want %v", err, ReasonBadPassword)
	}
}

func TestAccountCarriesNoHash(t *testing.T) {
	_, a := newFixture(t)
	acct, err := a.Authenticate(context.Background(), "alice", "chat.test", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if acct.User.Hash != "" || acct.User.ID != 1 || acct.JID.String() != "alice@chat.test" {
		t.Fatalf("account %+v", acct)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	dir := &fakeDirectory{}
	for name, cfg := range map[string]Config{
		"no domains":       {},
		"cache, no size":   {Domains: []string{"d"}, CacheTTL: time.Minute},
		"limit, no window": {Domains: []string{"d"}, MaxFailures: 3},
	} {
		if _, err := New(dir, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(nil, Config{Domains: []string{"d"}}); err == nil {
		t.Error("nil directory accepted")
	}
	a, err := New(dir, Config{Domains: []string{"d"}})
	if err != nil {
		t.Fatalf("everything off: %v", err)
	}
	if a.limiter.blocked("x", time.Now()) || a.cache.has(cacheKey{}, time.Now()) {
		t.Fatal("zero config turned something on")
	}
}

func TestCacheDoesNotBypassStateRules(t *testing.T) {
	dir, a := newFixture(t)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	dir.mu.Lock()
	dir.users[0].Waiting = "a" // suspended in the wiki
	dir.mu.Unlock()
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, ReasonSuspended) {
		t.Fatalf("suspended after a cached sign-in: %v", err)
	}
}

func TestOneLookupPerSignIn(t *testing.T) {
	dir, a := newFixture(t)
	for i := 0; i < 5; i++ {
		if _, err := a.Authenticate(context.Background(), "alice", "chat.test", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	if n := dir.lookups.Load(); n != 5 {
		t.Fatalf("%d lookups for 5 sign-ins", n)
	}
}

func TestRateLimit(t *testing.T) {
	dir, _ := newFixture(t)
	now := time.Unix(1800000000, 0)
	a, err := New(dir, testConfig(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", "typo"); !errors.Is(err, ReasonBadPassword) {
			t.Fatalf("typo %d: %v", i, err)
		}
	}
	// Five typos in a minute: the right password still works.
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatalf("right password after 5 typos: %v", err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "typo"); !errors.Is(err, ReasonBadPassword) {
		t.Fatal(err)
	}
	// The sixth failure within the window blocks, even the right password.
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); !errors.Is(err, ReasonRateLimited) {
		t.Fatalf("after 6 failures: %v, want rate-limited", err)
	}
	// Other accounts are not affected.
	if _, err := a.Authenticate(ctx, "trent.support", "chat.test", "Trent-pw"); err != nil {
		t.Fatalf("another account: %v", err)
	}
	now = now.Add(61 * time.Second)
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestConcurrentIdenticalSignInsHashOnce(t *testing.T) {
	dir, a := newFixture(t)
	h, err := bcrypt.GenerateFromPassword([]byte("slow-pw"), 12)
	if err != nil {
		t.Fatal(err)
	}
	dir.setHash("alice", string(h))
	var wg sync.WaitGroup
	var misses atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct, err := a.Authenticate(context.Background(), "alice", "chat.test", "slow-pw")
			if err != nil {
				t.Error(err)
			}
			if !acct.CacheHit {
				misses.Add(1)
			}
		}()
	}
	wg.Wait()
	// Every request either shared the one verification or hit the cache it
	// filled; never eight cost-12 hashes. Timing is not asserted here.
	if misses.Load() == 0 {
		t.Fatal("no request verified the password")
	}
}

func TestUserExists(t *testing.T) {
	_, a := newFixture(t)
	tests := []struct {
		user string
		want bool
	}{
		{"alice", true},
		{"nina", true},    // suspended accounts still exist
		{"rupert", false}, // unmigrated
		{"nobody", false},
		{"zoe", false}, // the collation's match is not the account
	}
	for _, tt := range tests {
		got, err := a.UserExists(context.Background(), tt.user, "chat.test")
		var r Reason
		if (err != nil && !errors.As(err, &r)) || got != tt.want || got == (err != nil) {
			t.Errorf("UserExists(%q) = %v, %v; want %v", tt.user, got, err, tt.want)
		}
	}
	if _, err := a.UserExists(context.Background(), "alice", "other.test"); !errors.Is(err, ReasonBadDomain) {
		t.Errorf("other domain: %v", err)
	}
}

func TestMustChangePassword(t *testing.T) {
	now := time.Unix(1800000000, 0)
	day := int64(86400)
	tests := []struct {
		name    string
		prefs   wikidb.Prefs
		confirm int64
		want    bool
	}{
		{"pref off", wikidb.Prefs{ChangePassword: false, PassDueDays: -1}, 0, false},
		{"never confirmed", wikidb.Prefs{ChangePassword: true, PassDueDays: -1}, 0, true},
		{"confirmed, no expiry", wikidb.Prefs{ChangePassword: true, PassDueDays: -1}, 1, false},
		{"within pass_due", wikidb.Prefs{ChangePassword: true, PassDueDays: 30}, now.Unix() - 29*day, false},
		{"past pass_due", wikidb.Prefs{ChangePassword: true, PassDueDays: 30}, now.Unix() - 31*day, true},
		{"pass_due 0", wikidb.Prefs{ChangePassword: true, PassDueDays: 0}, now.Unix() - 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := wikidb.User{PassConfirm: tt.confirm}
			if got := mustChangePassword(u, tt.prefs, now); got != tt.want {
				t.Errorf("mustChangePassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkAuthenticateCacheHit(b *testing.B) {
	_, a := newFixture(b)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateCacheMiss(b *testing.B) {
	dir, _ := newFixture(b)
	cfg := testConfig(time.Now)
	cfg.CacheTTL = 0
	a, err := New(dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
			b.Fatal(err)
		}
	}
}
