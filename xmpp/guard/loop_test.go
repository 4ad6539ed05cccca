package guard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/xmpp/account"
)

// TestLoopReportsAFailedSignIn: a pass whose administrator cannot sign in
// is told to done with the sign-in's error, and the loop ends with its
// context.
func TestLoopReportsAFailedSignIn(t *testing.T) {
	noCredential := errors.New("no credential")
	login := account.NewLogin(account.Config{JID: jid.MustParse("admin@chat.test")}, func(context.Context) (string, error) {
		return "", noCredential
	})
	g := New(hclog.NewNullLogger(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		g.Loop(ctx, func() Watch {
			return Watch{Enabled: true, Bound: time.Hour, Accounts: fakeAccounts{}, Login: login, Domains: []string{"chat.test"}}
		}, func(_ Pass, err error) { passes <- err })
	}()
	select {
	case err := <-passes:
		if !errors.Is(err, noCredential) {
			t.Errorf("pass: %v; want the sign-in's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pass reported within 5s")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end with its context")
	}
}
