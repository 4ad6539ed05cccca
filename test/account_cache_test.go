package test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/extauth"
)

// TestAccountCacheBound changes account rows in the wiki under a running
// extauth (default settings: the automatic daemon, wiki.account_cache 2s)
// and sees each new decision within the bound: a suspension, a password
// change, a deletion and a changed livechat_id.
func TestAccountCacheBound(t *testing.T) {
	const bound = 2 * time.Second // wiki.account_cache's default, as README says
	const slack = time.Second     // a request's own time on a busy machine
	w := newWiki(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, "")
	p := startExtauthProgram(t, binPath, "LIVECHAT_AUTH_CONFIG="+cfgPath)
	auth := func(user, pw string) extauth.Request {
		return extauth.Request{Command: "auth", User: user, Server: "chat.test", Password: pw}
	}
	isuser := func(user string) extauth.Request {
		return extauth.Request{Command: "isuser", User: user, Server: "chat.test"}
	}
	newMD5 := md5.Sum([]byte("frank-new-pw"))
	tests := []struct {
		name   string
		req    extauth.Request
		change string
	}{
		{"suspended", auth("carol", "carol-pw-2a"), "UPDATE users_users SET waiting = 'a' WHERE login = 'carol'"},
		{"password changed", auth("frank", "frank-pw-md5"), "UPDATE users_users SET hash = '" + hex.EncodeToString(newMD5[:]) + "' WHERE login = 'frank'"},
		{"deleted", isuser("erin"), "DELETE FROM users_users WHERE login = 'erin'"},
		{"livechat_id changed", isuser("alice"), "UPDATE users_users SET livechat_id = 'alice2' WHERE login = 'alice'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 3; i++ { // the row is now kept
				if !p.ask(t, tc.req) {
					t.Fatal("refused before the change")
				}
			}
			mustExec(t, w.Root, tc.change)
			changed := time.Now()
			for p.ask(t, tc.req) {
				if time.Since(changed) > bound+slack {
					t.Fatalf("still accepted %s after the change (bound %s)", time.Since(changed).Round(time.Millisecond), bound)
				}
				time.Sleep(20 * time.Millisecond) // poll
			}
			t.Logf("new decision %s after the change", time.Since(changed).Round(time.Millisecond))
		})
	}
	if !p.ask(t, auth("frank", "frank-new-pw")) {
		t.Error("the new password is refused")
	}
	if !p.ask(t, isuser("alice2")) {
		t.Error("the new livechat_id is unknown")
	}
}

// TestOneQueryPerAccountCacheMiss: with the account cache on, a burst of
// sign-ins for one account, whatever the outcome, sends exactly one query
// to the database; each distinct account, one more.
func TestOneQueryPerAccountCacheMiss(t *testing.T) {
	w := newWiki(t)
	proxy := startDBProxy(t, w.Addr)
	ctx := context.Background()
	s, err := wikidb.Open(proxy.DSN(t, w.ReaderDSN), wikidb.Config{AccountCache: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, err := provider.New(s, provider.Config{Domains: []string{"chat.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prefs(ctx); err != nil {
		t.Fatal(err) // connects and reads the preferences
	}
	const n = 10
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
		if got := proxy.Commands() - before; got != 1 {
			t.Errorf("%s: %d database commands for %d sign-ins, want exactly 1", user.name, got, n)
		}
	}
}
