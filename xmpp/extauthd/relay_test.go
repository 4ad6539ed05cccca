package extauthd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/xmpp/extauth"
)

const aToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

// testRelay is a Relay deciding locally with local, logging to a buffer,
// dialing again at once when lost.
type testRelay struct {
	*Relay
	log *syncBuffer
}

func newTestRelay(t *testing.T, local extauth.Authenticator, cfg RelayConfig) *testRelay {
	t.Helper()
	logs := &syncBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	rl, err := NewRelay(server(t, local, log), log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rl.redial = 0
	t.Cleanup(func() { rl.Close() })
	return &testRelay{rl, logs}
}

// ask sends one request through the relay's request loop.
func (r *testRelay) ask(t *testing.T, body string) bool {
	t.Helper()
	var out bytes.Buffer
	if err := extauth.Serve(context.Background(), bytes.NewReader(frame(body)), &out, r.Relay); err != nil {
		t.Fatal(err)
	}
	yes, err := extauth.ReadReply(&out)
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("%d bytes more than one reply", out.Len())
	}
	return yes
}

func (r *testRelay) state() relayState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Relay.state
}

func TestRelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	stopDaemon := startDaemon(t, path)
	relay := newTestRelay(t, denyAll{}, RelayConfig{Socket: path})
	if relay.state() != stateIdle {
		t.Fatalf("state %s before the first request, want idle", relay.state())
	}
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the daemon's yes did not come through")
	}
	if relay.state() != stateConnected {
		t.Fatalf("state %s, want connected", relay.state())
	}
	if relay.ask(t, "auth:alice:chat.test:wrong") {
		t.Fatal("the daemon's no came through as yes")
	}
	stopDaemon()
	if relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("with the daemon gone, the local decision (deny all) was not used")
	}
	if relay.state() != stateLost {
		t.Fatalf("state %s with the daemon gone, want lost", relay.state())
	}
	startDaemon(t, path)
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the relay did not reconnect")
	}
	if !strings.Contains(relay.log.String(), "daemon reachable again: away=") {
		t.Errorf("the end of the outage was not logged with its length:\n%s", relay.log.String())
	}
}

func TestNewRelayChecksInputs(t *testing.T) {
	if _, err := NewRelay(nil, nil, RelayConfig{}); err == nil {
		t.Fatal("accepted")
	}
}

// slowAuth answers after a pause longer than the relay's budget.
type slowAuth struct{}

func (slowAuth) Authenticate(ctx context.Context, _, _, _ string) (provider.Account, error) {
	time.Sleep(2 * time.Second)
	return provider.Account{}, nil
}

func (slowAuth) UserExists(context.Context, string, string) (bool, error) { return true, nil }

func TestRelayTimeoutAnswersNo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.sock")
	startDaemonWith(t, path, slowAuth{}, hclog.NewNullLogger())
	relay := newTestRelay(t, yesAll{}, RelayConfig{Socket: path, Timeout: 300 * time.Millisecond})
	start := time.Now()
	if relay.ask(t, "auth:alice:chat.test:pw") {
		t.Fatal("a slow daemon's request was decided locally (yes); want a plain no")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("took %s: the relay waited past its budget or retried", d)
	}
	if !strings.Contains(relay.log.String(), "reason=daemon-timeout") {
		t.Errorf("no daemon-timeout refusal logged:\n%s", relay.log.String())
	}
}

// TestRelayRefusesTokensWhileUnshared: with the daemon out of reach, a
// password is decided locally but a token is refused, with one warning
// per outage; once the daemon is back, tokens go to it again.
func TestRelayRefusesTokensWhileUnshared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	relay := newTestRelay(t, yesAll{}, RelayConfig{Socket: path, Tokens: true})
	if !relay.ask(t, "auth:alice:chat.test:a password") {
		t.Error("a password was not decided locally while the daemon is down")
	}
	for i := 0; i < 3; i++ {
		if relay.ask(t, "auth:alice:chat.test:"+aToken) {
			t.Fatal("a token was decided locally while the daemon is down")
		}
	}
	logs := relay.log.String()
	if n := strings.Count(logs, "reason="+extauth.ReasonTokenUnshared); n != 3 {
		t.Errorf("%d refusals logged with reason=%s, want 3:\n%s", n, extauth.ReasonTokenUnshared, logs)
	}
	if n := strings.Count(logs, "refusing token sign-ins"); n != 1 {
		t.Errorf("%d outage warnings about tokens, want 1:\n%s", n, logs)
	}
	startDaemon(t, path)
	if relay.ask(t, "auth:alice:chat.test:"+aToken) { // the daemon's fake refuses anything but "secret"
		t.Error("the token was not asked of the daemon once it was back")
	}
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Error("the daemon's yes did not come through")
	}
}

// TestRelayUnsharedByConfig: a relay told that no daemon may be used
// decides passwords locally and refuses tokens, without dialing.
func TestRelayUnsharedByConfig(t *testing.T) {
	relay := newTestRelay(t, yesAll{}, RelayConfig{Tokens: true, Unshared: errors.New("unsafe folder")})
	var out bytes.Buffer
	in := append(frame("auth:alice:chat.test:pw"), frame("auth:alice:chat.test:"+aToken)...)
	if err := extauth.Serve(context.Background(), bytes.NewReader(in), &out, relay.Relay); err != nil {
		t.Fatal(err)
	}
	if got := out.Bytes(); !bytes.Equal(got, []byte{0, 2, 0, 1, 0, 2, 0, 0}) {
		t.Fatalf("replies %x, want yes to the password and no to the token", got)
	}
	if relay.state() != stateAlone {
		t.Errorf("state %s, want alone", relay.state())
	}
}

// dyingDaemon is a daemon on socket that takes one connection, stops
// listening, reads requests and answers the first answered of them
// (yes), then reads one more and dies without answering it.
func dyingDaemon(t *testing.T, socket string, answered int) (died <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		conn, err := ln.Accept()
		ln.Close() // and the socket with it, as a dead daemon's stops answering
		if err != nil {
			return
		}
		defer conn.Close()
		for i := 0; i <= answered; i++ {
			if _, err := extauth.ReadRequest(conn); err != nil {
				return
			}
			if i < answered {
				_ = extauth.WriteReply(conn, true)
			}
		}
	}()
	return gone
}

// TestRelayDaemonDiesMidRequest: a daemon that dies while it decides a
// request (it read it, and answers nothing) leaves no request
// unanswered: the relay decides that one locally at once, and the ones
// after it, and replies stay in step, one per request, in order. It
// starts a new daemon at once, in the background, and asks it as soon
// as it answers.
func TestRelayDaemonDiesMidRequest(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	died := dyingDaemon(t, socket, 1)
	var starts atomic.Int32
	var mu sync.Mutex
	startNow := make(chan struct{})
	relay := newTestRelay(t, yesAll{}, RelayConfig{Socket: socket, Tokens: true, Start: func(ctx context.Context, s string) error {
		mu.Lock()
		defer mu.Unlock()
		if starts.Add(1) > 1 {
			return nil // started already
		}
		<-startNow
		startDaemon(t, s)
		return nil
	}})
	// One request the daemon answers, then a password and a token it
	// dies on and after, then a request once a new daemon answers.
	in := bytes.Join([][]byte{
		frame("isuser:nobody:chat.test"),         // the dying daemon says yes
		frame("auth:alice:chat.test:a password"), // in flight at its death: decided locally, yes
		frame("auth:alice:chat.test:" + aToken),  // while lost: a token is refused
		frame("isuser:bob:chat.test"),            // while lost: yes (locally)
	}, nil)
	var out bytes.Buffer
	begin := time.Now()
	if err := extauth.Serve(context.Background(), bytes.NewReader(in), &out, relay.Relay); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("four requests took %s across the daemon's death", d)
	}
	<-died
	want := []byte{0, 2, 0, 1, 0, 2, 0, 1, 0, 2, 0, 0, 0, 2, 0, 1}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("replies % x, want % x", out.Bytes(), want)
	}
	logs := relay.log.String()
	if !strings.Contains(logs, "daemon lost while deciding a request") {
		t.Errorf("the loss in flight was not logged:\n%s", logs)
	}
	if !waitFor(func() bool { return starts.Load() >= 1 }) {
		t.Fatal("no daemon was started after the loss")
	}
	close(startNow)
	// The new daemon (fakeAuth) refuses bob and says yes to
	// alice's "secret", which the local decision (yes to all) would
	// not tell apart: the first "no" to bob is the daemon's.
	if !waitFor(func() bool { return !relay.ask(t, "isuser:bob:chat.test") }) {
		t.Fatalf("the relay did not come back to the new daemon:\n%s", relay.log.String())
	}
	if relay.state() != stateConnected {
		t.Errorf("state %s, want connected", relay.state())
	}
	if n := starts.Load(); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// TestRelayDaemonGoneBetweenRequests: a daemon that went away between
// two requests (it stopped, or died idle) decided nothing; the next
// request connects again, starting a daemon if none answers, and is
// asked there: no outage is seen.
func TestRelayDaemonGoneBetweenRequests(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	stop := startDaemon(t, socket)
	var starts atomic.Int32
	relay := newTestRelay(t, denyAll{}, RelayConfig{Socket: socket, Start: func(_ context.Context, s string) error {
		starts.Add(1)
		startDaemon(t, s)
		return nil
	}})
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the daemon's yes did not come through")
	}
	stop() // between two requests
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatalf("the request after the daemon stopped was not asked of a new one:\n%s", relay.log.String())
	}
	if n := starts.Load(); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
	if strings.Contains(relay.log.String(), "[WARN]") {
		t.Errorf("an outage was reported:\n%s", relay.log.String())
	}
}

// TestServeRelaysAnswersTheRequestUnderWay: a daemon told to stop while
// it decides a request answers it first, then lets the relay go.
func TestServeRelaysAnswersTheRequestUnderWay(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	deciding := make(chan struct{})
	release := make(chan struct{})
	stop := startDaemonWith(t, socket, gatedAuth{deciding, release}, hclog.NewNullLogger())
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(frame("auth:alice:chat.test:secret")); err != nil {
		t.Fatal(err)
	}
	<-deciding
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	if !waitFor(func() bool { c, err := net.Dial("unix", socket); closeIf(c); return err != nil }) {
		t.Fatal("the daemon still accepts connections after it was told to stop")
	}
	close(release)
	if yes, err := extauth.ReadReply(conn); err != nil || !yes {
		t.Fatalf("the request under way got %v, %v; want its answer (yes)", yes, err)
	}
	<-stopped
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("after the answer: %v, want the connection closed", err)
	}
}

func closeIf(c net.Conn) {
	if c != nil {
		c.Close()
	}
}

// gatedAuth says yes once released, telling when it started deciding.
type gatedAuth struct{ deciding, release chan struct{} }

func (g gatedAuth) Authenticate(ctx context.Context, _, _, _ string) (provider.Account, error) {
	close(g.deciding)
	<-g.release
	return provider.Account{}, ctx.Err()
}

func (gatedAuth) UserExists(context.Context, string, string) (bool, error) { return true, nil }

func TestRelayStateNames(t *testing.T) {
	for s, want := range map[relayState]string{stateIdle: "idle", stateConnected: "connected", stateLost: "lost", stateAlone: "alone", 9: "relayState(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
}

// TestRelayReconnectsWithoutARequest: once lost, the relay starts a
// daemon and connects by itself, with no request to prompt it, and
// says how long the daemon was away.
func TestRelayReconnectsWithoutARequest(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	stop := startDaemon(t, socket)
	relay := newTestRelay(t, denyAll{}, RelayConfig{Socket: socket, Start: func(_ context.Context, s string) error {
		if c, err := net.Dial("unix", s); err == nil {
			c.Close()
			return nil // answering already
		}
		startDaemon(t, s)
		return nil
	}})
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the daemon's yes did not come through")
	}
	stop()
	relay.mu.Lock()
	relay.loseLocked(context.Background(), errors.New("test: the daemon went away")) // as a failed request would
	relay.mu.Unlock()
	if !waitFor(func() bool { return relay.state() == stateConnected }) {
		t.Fatalf("the relay did not reconnect by itself:\n%s", relay.log.String())
	}
	if !strings.Contains(relay.log.String(), "daemon reachable again: away=") {
		t.Errorf("the end of the outage was not logged:\n%s", relay.log.String())
	}
	if !relay.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the new daemon's yes did not come through")
	}
}

// blockAuth decides nothing until its context ends (a wiki that does not
// answer).
type blockAuth struct{}

func (blockAuth) Authenticate(ctx context.Context, _, _, _ string) (provider.Account, error) {
	<-ctx.Done()
	return provider.Account{}, ctx.Err()
}

func (blockAuth) UserExists(ctx context.Context, _, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// frozenDaemon accepts connections on socket and reads, but never
// answers: a daemon stopped (SIGSTOP), frozen or swapped out, whose
// listen backlog still takes connections.
func frozenDaemon(t *testing.T, socket string) {
	t.Helper()
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
}

// TestRelaySkipsAFrozenDaemon: a daemon that takes connections but never
// answers costs one request its budget (daemon-timeout, "no"); the next
// ones are decided here at once for the suspect time, not each after a
// full budget (which through ejabberd piles up to its 30 s timeout).
func TestRelaySkipsAFrozenDaemon(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "frozen.sock")
	frozenDaemon(t, socket)
	relay := newTestRelay(t, yesAll{}, RelayConfig{Socket: socket, Timeout: 300 * time.Millisecond})
	start := time.Now()
	if relay.ask(t, "auth:alice:chat.test:pw") {
		t.Fatal("the frozen daemon's request was answered yes")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("the first request took %s", d)
	}
	for i := 0; i < 5; i++ {
		start := time.Now()
		if !relay.ask(t, "auth:alice:chat.test:pw") {
			t.Fatalf("request %d after the timeout was not decided here", i)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("request %d after the timeout took %s: the frozen daemon was asked again", i, d)
		}
	}
	if logs := relay.log.String(); !strings.Contains(logs, "daemon did not answer in time") || strings.Contains(logs, "daemon reachable again") {
		t.Errorf("the frozen daemon is not reported as such:\n%s", logs)
	}
}

// TestRelayStartWithinBudget: a daemon start that hangs takes half the
// request's budget at most; the request is then decided here, and
// answered within its budget.
func TestRelayStartWithinBudget(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "none.sock")
	relay := newTestRelay(t, yesAll{}, RelayConfig{Socket: socket, Timeout: time.Second, Start: func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	start := time.Now()
	if !relay.ask(t, "auth:alice:chat.test:pw") {
		t.Fatal("a password was not decided here while no daemon could start")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("answered after %s, over the budget of 1 s and 0.5 s for the trip", d)
	}
}

// TestRelayDecidesLateLossWithinBudget: a daemon that dies near the end
// of a request leaves the decision here what is left of the budget (at
// least a second), not a budget of its own: the answer comes within
// budget + trip + 1 s, not twice the budget.
func TestRelayDecidesLateLossWithinBudget(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "late.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ln.Close()
		_, _ = c.Read(make([]byte, 512))
		time.Sleep(1800 * time.Millisecond) // then it dies, not having answered
		c.Close()
	}()
	relay := newTestRelay(t, blockAuth{}, RelayConfig{Socket: socket, Timeout: 2 * time.Second})
	start := time.Now()
	if relay.ask(t, "auth:alice:chat.test:pw") {
		t.Fatal("yes from a wiki that never answered")
	}
	if d := time.Since(start); d > 3200*time.Millisecond {
		t.Errorf("answered after %s: the decision here had a fresh budget", d)
	}
}
