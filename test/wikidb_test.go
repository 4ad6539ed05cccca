package test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

func openStore(t testing.TB, dsn string) *wikidb.Store {
	t.Helper()
	s, err := wikidb.Open(dsn, wikidb.Config{QueryTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreUserByLivechatID(t *testing.T) {
	w := newWiki(t)
	s := openStore(t, w.ReaderDSN)
	ctx := context.Background()
	tests := []struct {
		name      string
		id        string
		found     bool
		login     string
		migrated  bool
		storedID  string
		wantEmail string
	}{
		{"exact", "alice", true, "alice", true, "alice", "alice@example.org"},
		{"case-insensitive collation", "TRENT.SUPPORT", true, "Trent Support", true, "Trent.Support", "trent@example.org"},
		{"accent-insensitive collation", "zoe", true, "zoe", true, "zoë", "zoe@example.org"},
		{"trailing spaces ignored by collation", "alice  ", true, "alice", true, "alice", "alice@example.org"},
		{"unmigrated, by login", "rupert", true, "rupert", false, "", "rupert@example.org"},
		{"unknown", "nobody", false, "", false, "", ""},
		{"SQL metacharacters", "x' OR '1'='1", false, "", false, "", ""},
		{"comment and backslash", `a\'; -- `, false, "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, found, err := s.UserByLivechatID(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
			if !found {
				return
			}
			if u.Login != tt.login || (u.LivechatID != nil) != tt.migrated || u.Email != tt.wantEmail {
				t.Fatalf("got %+v", u)
			}
			if tt.migrated && *u.LivechatID != tt.storedID {
				t.Fatalf("livechat_id %q, want %q", *u.LivechatID, tt.storedID)
			}
		})
	}
}

func TestStoreRowColumns(t *testing.T) {
	w := newWiki(t)
	s := openStore(t, w.ReaderDSN)
	ctx := context.Background()
	check := func(id string, ok func(wikidb.User) bool) {
		t.Helper()
		u, found, err := s.UserByLivechatID(ctx, id)
		if err != nil || !found || !ok(u) {
			t.Errorf("%s: %+v found=%v err=%v", id, u, found, err)
		}
	}
	check("mallory", func(u wikidb.User) bool { return u.Waiting == "u" })
	check("nina", func(u wikidb.User) bool { return u.Waiting == "a" })
	check("oscar", func(u wikidb.User) bool { return u.Valid == "a1b2c3d4" })
	check("peggy", func(u wikidb.User) bool { return u.PassConfirm == 0 })
	check("alice", func(u wikidb.User) bool { return u.PassConfirm == 1700000000 && u.Waiting == "" && u.Valid == "" })
	check("quinn", func(u wikidb.User) bool { return u.TwoFactorSecret == "JBSWY3DPEHPK3PXP" })
	check("judy", func(u wikidb.User) bool { return u.Hash == "" })
	check("heidi", func(u wikidb.User) bool { return u.Email == " heidi@example.org\n" })

	// NULL columns read as empty values.
	mustExec(t, w.Root, "UPDATE users_users SET hash = NULL, email = NULL, pass_confirm = NULL, waiting = NULL WHERE login = 'bob'")
	check("bob", func(u wikidb.User) bool { return u.Hash == "" && u.Email == "" && u.PassConfirm == 0 })
}

func TestStorePrefs(t *testing.T) {
	w := newWiki(t)
	s := openStore(t, w.ReaderDSN)
	ctx := context.Background()
	p, err := s.Prefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (wikidb.Prefs{ChangePassword: true, PassDueDays: -1, TwoFactorAuth: true}); p != want {
		t.Fatalf("prefs %+v, want %+v", p, want)
	}
	// Absent rows take Tiki's defaults.
	mustExec(t, w.Root, "DELETE FROM tiki_preferences")
	s2 := openStore(t, w.ReaderDSN)
	if p, err := s2.Prefs(ctx); err != nil || p != wikidb.DefaultPrefs() {
		t.Fatalf("no rows: %+v, %v; want defaults", p, err)
	}
}

func TestStoreGroups(t *testing.T) {
	w := newWiki(t)
	s := openStore(t, w.ReaderDSN)
	ctx := context.Background()
	groupsOf := func(login string) []string {
		t.Helper()
		u, found, err := s.UserByLivechatID(ctx, login)
		if err != nil || !found {
			t.Fatalf("%s: found=%v err=%v", login, found, err)
		}
		g, err := s.Groups(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(g)
		return g
	}
	tests := []struct {
		login string
		want  []string
	}{
		// Room Monitors and Support Team include each other: the cycle ends.
		{"alice", []string{"Editors", "Registered", "Room Monitors", "Support Team"}},
		{"bob", []string{"Editors", "Registered", "Room Monitors", "Support Team"}},
		// walter's only membership expired.
		{"walter", []string{"Registered"}},
		{"carol", []string{"Registered"}},
	}
	for _, tt := range tests {
		if got := groupsOf(tt.login); !slices.Equal(got, tt.want) {
			t.Errorf("%s: groups %v, want %v", tt.login, got, tt.want)
		}
	}
	// Effective members, inclusions counted; a typo is an error, not an empty group.
	members, err := s.GroupMembers(ctx, []string{"Editors"})
	if err != nil || len(members["Editors"]) != 2 {
		t.Errorf("Editors: %d members, %v", len(members["Editors"]), err)
	}
	if _, err := s.GroupMembers(ctx, []string{"Editors", "Room Monitorz"}); !errors.Is(err, wikidb.ErrNoSuchGroup) {
		t.Errorf("unknown group: %v", err)
	}
	// A membership with a future expiry counts.
	mustExec(t, w.Root, "UPDATE users_usergroups SET expire = ? WHERE groupName = 'Former Staff'", time.Now().Add(time.Hour).Unix())
	if got := groupsOf("walter"); !slices.Equal(got, []string{"Former Staff", "Registered"}) {
		t.Errorf("walter after extending: %v", got)
	}
}

// TestReaderIsSelectOnly proves the tests run livechat-auth with a user
// that cannot write, so everything that passes with it is read-only.
func TestReaderIsSelectOnly(t *testing.T) {
	w := newWiki(t)
	s := openStore(t, w.ReaderDSN)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	db := openRaw(t, w.ReaderDSN)
	for _, stmt := range []string{
		"UPDATE users_users SET unsuccessful_logins = unsuccessful_logins + 1 WHERE login = 'alice'",
		"INSERT INTO tiki_preferences (name, value) VALUES ('x', 'y')",
		"DELETE FROM users_usergroups",
	} {
		_, err := db.Exec(stmt)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1142 { // ER_TABLEACCESS_DENIED_ERROR
			t.Errorf("%q as the reader: %v, want access denied", stmt, err)
		}
	}
}

// TestOneRoundTripPerSignIn counts the commands livechat-auth sends to the
// database for repeated sign-ins: exactly one query each (site preferences
// are cached, parameters interpolated: no prepare/execute/close), whatever
// the outcome. A control case first proves the counter counts.
func TestOneRoundTripPerSignIn(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	ctx := context.Background()
	const n = 20

	raw := openRaw(t, proxy.DSN(t, w.ReaderDSN))
	if err := raw.PingContext(ctx); err != nil {
		t.Fatal(err) // connects: the handshake is no command
	}
	before := proxy.Commands()
	for i := 0; i < n; i++ {
		var one int
		if err := raw.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
	}
	if got := proxy.Commands() - before; got != n {
		t.Fatalf("control: %d commands counted for %d queries", got, n)
	}

	s := openStore(t, proxy.DSN(t, w.ReaderDSN))
	a, err := provider.New(s, provider.Config{Domains: []string{"chat.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw-1"); err != nil {
		t.Fatal(err) // warms the connection and the preferences
	}
	for _, user := range []struct {
		name, pw string
		want     error
	}{
		{"alice", "alice-pw-1", nil},
		{"frank", "nope", provider.ReasonBadPassword},
		{"nobody", "x", provider.ReasonUnknownUser},
	} {
		before := proxy.Commands()
		for i := 0; i < n; i++ {
			if _, err := a.Authenticate(ctx, user.name, "chat.test", user.pw); !errors.Is(err, user.want) {
				t.Fatalf("%s: %v, want %v", user.name, err, user.want)
			}
		}
		if got := proxy.Commands() - before; got != n {
			t.Errorf("%s: %d database commands for %d sign-ins, want exactly %d", user.name, got, n, n)
		}
	}
}

// BenchmarkStoreUserByLivechatID is the one query of every sign-in,
// against the real database; BenchmarkStorePing is the baseline round trip.
func BenchmarkStoreUserByLivechatID(b *testing.B) {
	w := newWiki(b)
	s := openStore(b, w.ReaderDSN)
	ctx := context.Background()
	b.Run("ping-baseline", func(b *testing.B) {
		for b.Loop() {
			if err := s.Ping(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.UserByLivechatID(ctx, "alice"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
