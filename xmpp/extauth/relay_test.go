package extauth

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
)

// denyAll is a fallback that refuses everything, so that a "yes" can only
// have come from the daemon.
type denyAll struct{}

func (denyAll) Authenticate(context.Context, string, string, string) (provider.Account, error) {
	return provider.Account{}, provider.ReasonBadPassword
}

func (denyAll) UserExists(context.Context, string, string) (bool, error) {
	return false, provider.ReasonUnknownUser
}

func startDaemon(t *testing.T, path string) context.CancelFunc {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = newServer(t, hclog.NewNullLogger()).ServeListener(ctx, ln, nil) }() // ends with cancel
	return cancel
}

func TestRelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	stopDaemon := startDaemon(t, path)
	fallback, err := New(denyAll{}, hclog.NewNullLogger(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := NewRelay(fallback, hclog.NewNullLogger(), RelayConfig{Socket: path, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	relay.retry = 0 // retry the daemon at once in this test
	ask := func(body string) bool {
		t.Helper()
		var out bytes.Buffer
		if err := relay.Serve(context.Background(), bytes.NewReader(frame(body)), &out); err != nil {
			t.Fatal(err)
		}
		yes, err := ReadReply(&out)
		if err != nil {
			t.Fatal(err)
		}
		return yes
	}
	if !ask("auth:alice:chat.test:secret") {
		t.Fatal("the daemon's yes did not come through")
	}
	if ask("auth:alice:chat.test:wrong") {
		t.Fatal("the daemon's no came through as yes")
	}
	stopDaemon()
	if ask("auth:alice:chat.test:secret") {
		t.Fatal("with the daemon gone, the fallback (deny all) was not used")
	}
	defer startDaemon(t, path)()
	if !ask("auth:alice:chat.test:secret") {
		t.Fatal("the relay did not reconnect")
	}
}

func TestNewRelayChecksInputs(t *testing.T) {
	if _, err := NewRelay(nil, nil, RelayConfig{}); err == nil {
		t.Fatal("accepted")
	}
}

// yesAll is a fallback that accepts everything, so that a "no" can only
// have come from the relay's own decision.
type yesAll struct{}

func (yesAll) Authenticate(context.Context, string, string, string) (provider.Account, error) {
	return provider.Account{}, nil
}

func (yesAll) UserExists(context.Context, string, string) (bool, error) { return true, nil }

// slowAuth answers after a pause longer than the relay's budget.
type slowAuth struct{}

func (slowAuth) Authenticate(ctx context.Context, _, _, _ string) (provider.Account, error) {
	time.Sleep(2 * time.Second)
	return provider.Account{}, nil
}

func (slowAuth) UserExists(context.Context, string, string) (bool, error) { return true, nil }

func TestRelayTimeoutAnswersNo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := New(slowAuth{}, hclog.NewNullLogger(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = daemon.ServeListener(ctx, ln, nil) }() // ends with cancel
	fallback, err := New(yesAll{}, hclog.NewNullLogger(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := NewRelay(fallback, hclog.NewNullLogger(), RelayConfig{Socket: path, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	if err := relay.Serve(context.Background(), bytes.NewReader(frame("auth:alice:chat.test:pw")), &out); err != nil {
		t.Fatal(err)
	}
	yes, err := ReadReply(&out)
	if err != nil || yes {
		t.Fatalf("a slow daemon gave %v, %v; want a plain no, not the fallback's yes", yes, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("took %s: the relay waited past its budget or retried", d)
	}
}
