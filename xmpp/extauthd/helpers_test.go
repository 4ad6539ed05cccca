package extauthd

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/xmpp/extauth"
)

// frame encodes a request body with its 2-byte length.
func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

// fakeAuth accepts alice/secret and knows alice.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, user, _, password string) (provider.Account, error) {
	if user == "alice" && password == "secret" {
		return provider.Account{}, nil
	}
	return provider.Account{}, provider.ReasonBadPassword
}

func (fakeAuth) UserExists(_ context.Context, user, _ string) (bool, error) {
	if user == "alice" {
		return true, nil
	}
	return false, provider.ReasonUnknownUser
}

// denyAll refuses everything, so that a "yes" can only have come from
// the daemon.
type denyAll struct{}

func (denyAll) Authenticate(context.Context, string, string, string) (provider.Account, error) {
	return provider.Account{}, provider.ReasonBadPassword
}

func (denyAll) UserExists(context.Context, string, string) (bool, error) {
	return false, provider.ReasonUnknownUser
}

// yesAll accepts everything, so that a "no" can only have come from the
// relay's own decision.
type yesAll struct{}

func (yesAll) Authenticate(context.Context, string, string, string) (provider.Account, error) {
	return provider.Account{}, nil
}

func (yesAll) UserExists(context.Context, string, string) (bool, error) { return true, nil }

func server(t testing.TB, auth extauth.Authenticator, log hclog.Logger) *extauth.Server {
	t.Helper()
	srv, err := extauth.New(auth, log, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// startDaemon serves fakeAuth's decisions on path until the returned
// stop is called, which waits for the daemon to have let every relay go.
func startDaemon(t testing.TB, path string) (stop func()) {
	t.Helper()
	return startDaemonWith(t, path, fakeAuth{}, hclog.NewNullLogger())
}

func startDaemonWith(t testing.TB, path string, auth extauth.Authenticator, log hclog.Logger) (stop func()) {
	t.Helper()
	ln, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ServeRelays(ctx, ln, server(t, auth, log), nil) // ends with cancel
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// syncBuffer is a log sink safe for the goroutines of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls ok for up to 5 s.
func waitFor(ok func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
