package rooms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/xmpp/account"
)

// TestLoopReportsAFailedSignIn: a run whose sign-in fails is told to done
// with the sign-in's error, and the loop ends with its context.
func TestLoopReportsAFailedSignIn(t *testing.T) {
	s := newSyncer(t, fakeMembers{"Support Team": {"alice"}}, Rule{"Support Team", []jid.JID{support}, "member"})
	noCredential := errors.New("no credential")
	login := account.NewLogin(account.Config{JID: jid.MustParse("sync@chat.test")}, func(context.Context) (string, error) {
		return "", noCredential
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		Loop(ctx, func() Job { return Job{Syncer: s, Login: login, Interval: time.Hour} }, hclog.NewNullLogger(),
			func(_ Summary, err error) { runs <- err })
	}()
	select {
	case err := <-runs:
		if !errors.Is(err, noCredential) {
			t.Errorf("run: %v; want the sign-in's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no run reported within 5s")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end with its context")
	}
}
