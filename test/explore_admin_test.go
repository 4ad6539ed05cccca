package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	xmppaccount "livechat-auth/xmpp/account"
	"livechat-auth/xmpp/admin"
)

func TestExploreAdmin(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, Admin: "syncbot@" + host})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	_ = dialSession(t, addr, "alice@"+host, "alice-pw-1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := xmppaccount.Dial(ctx, xmppaccount.Config{Addr: addr, JID: jid.MustParse("syncbot@" + host), Password: "syncbot-pw", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := admin.New(s)
	users, err := c.OnlineUsers(ctx, jid.MustParse(host))
	t.Logf("online: %v %v", users, err)
	err = c.EndSessions(ctx, jid.MustParse("alice@"+host))
	t.Logf("end: %v", err)
	time.Sleep(time.Second)
	users, err = c.OnlineUsers(ctx, jid.MustParse(host))
	t.Logf("online: %v %v", users, err)
	err = c.EndSessions(ctx, jid.MustParse("nobody@"+host))
	t.Logf("end nobody: %v", err)
}

func TestExploreAdminProsody(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret))
	srv := startServe(t, cfgPath)
	p := startProsody(t, host, livechatModuleSettings(srv.URL, secret)+prosodyAdminSettings("syncbot@"+host))
	addr := fmt.Sprintf("127.0.0.1:%d", p.C2SPort)
	_ = dialSession(t, addr, "alice@"+host, "alice-pw-1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := xmppaccount.Dial(ctx, xmppaccount.Config{Addr: addr, JID: jid.MustParse("syncbot@" + host), Password: "syncbot-pw", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := admin.New(s)
	users, err := c.OnlineUsers(ctx, jid.MustParse(host))
	t.Logf("online: %v %v", users, err)
	err = c.EndSessions(ctx, jid.MustParse("alice@"+host))
	t.Logf("end: %v", err)
	time.Sleep(time.Second)
	users, err = c.OnlineUsers(ctx, jid.MustParse(host))
	t.Logf("online: %v %v", users, err)
	err = c.EndSessions(ctx, jid.MustParse("nobody@"+host))
	t.Logf("end nobody: %v", err)
}
