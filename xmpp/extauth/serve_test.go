package extauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/wikidb"
)

// fakeAuth accepts alice/secret and knows alice; "boom" panics, "down"
// fails like an unreachable database and "broken" with another fault.
type fakeAuth struct{ calls int }

func (f *fakeAuth) Authenticate(_ context.Context, user, _, password string) (provider.Account, error) {
	f.calls++
	switch {
	case user == "boom":
		panic("boom")
	case user == "down":
		return provider.Account{}, errDown
	case user == "broken":
		return provider.Account{}, errors.New("something else broke")
	case user == "alice" && password == "secret":
		return provider.Account{}, nil
	}
	return provider.Account{}, provider.ReasonBadPassword
}

func (f *fakeAuth) UserExists(_ context.Context, user, _ string) (bool, error) {
	f.calls++
	switch user {
	case "alice":
		return true, nil
	case "down":
		return false, errDown
	case "boom":
		panic("boom")
	}
	return false, provider.ReasonUnknownUser
}

var errDown = fmt.Errorf("look up livechat_id: %w: connection refused", wikidb.ErrUnavailable)

func newServer(t testing.TB, log hclog.Logger) *Server {
	t.Helper()
	srv, err := New(&fakeAuth{}, log, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func serve(t *testing.T, in []byte) (out []byte, logs string, err error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &stderr, Level: hclog.Debug})
	err = Serve(context.Background(), bytes.NewReader(in), &stdout, newServer(t, log))
	return stdout.Bytes(), stderr.String(), err
}

func TestServeAnswers(t *testing.T) {
	tests := []struct {
		name string
		body string
		yes  bool
	}{
		{"auth ok", "auth:alice:chat.test:secret", true},
		{"auth bad", "auth:alice:chat.test:nope", false},
		{"isuser yes", "isuser:alice:chat.test", true},
		{"isuser no", "isuser:bob:chat.test", false},
		{"setpass refused", "setpass:alice:chat.test:secret", false},
		{"tryregister refused", "tryregister:alice:chat.test:secret", false},
		{"removeuser refused", "removeuser:alice:chat.test", false},
		{"removeuser3 refused", "removeuser3:alice:chat.test:secret", false},
		{"garbage", "hello", false},
		{"panic", "auth:boom:chat.test:x", false},
		{"database down", "auth:down:chat.test:x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := serve(t, frame(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			want := replyNo
			if tt.yes {
				want = replyYes
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("reply % x, want % x", out, want)
			}
		})
	}
}

func TestServeKeepsGoingAfterBadFrames(t *testing.T) {
	var in []byte
	for _, body := range []string{"", "\xff\xff", "auth:boom:chat.test:x", "auth:alice:chat.test:secret"} {
		in = append(in, frame(body)...)
	}
	out, _, err := serve(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]byte{}, replyNo...), replyNo...), replyNo...), replyYes...)
	if !bytes.Equal(out, want) {
		t.Fatalf("replies % x, want % x", out, want)
	}
}

func TestServeTruncatedInput(t *testing.T) {
	in := append(frame("auth:alice:chat.test:secret"), 0, 50, 'a')
	out, _, err := serve(t, in)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if !bytes.Equal(out, replyYes) {
		t.Fatalf("replies % x, want one yes", out)
	}
}

func TestServeNeverLogsPasswords(t *testing.T) {
	_, logs, err := serve(t, append(frame("auth:alice:chat.test:secret"), frame("auth:alice:chat.test:hunter2-typo")...))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret", "hunter2"} {
		if bytes.Contains([]byte(logs), []byte(secret)) {
			t.Errorf("log holds a password:\n%s", logs)
		}
	}
	if !bytes.Contains([]byte(logs), []byte("reason=bad-password")) {
		t.Errorf("no reason code in the log:\n%s", logs)
	}
}

func TestNewChecksInputs(t *testing.T) {
	log := hclog.NewNullLogger()
	if _, err := New(nil, log, time.Second); err == nil {
		t.Error("nil Authenticator accepted")
	}
	if _, err := New(&fakeAuth{}, nil, time.Second); err == nil {
		t.Error("nil logger accepted")
	}
	if _, err := New(&fakeAuth{}, log, 0); err == nil {
		t.Error("zero timeout accepted")
	}
}

// BenchmarkFrameRoundTrip is one request and its reply over in-process
// pipes: the protocol's own cost, with a decision that costs nothing.
func BenchmarkFrameRoundTrip(b *testing.B) {
	req := frame("isuser:alice:chat.test")
	srv := newServer(b, hclog.NewNullLogger())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() { _ = Serve(context.Background(), inR, outW, srv) }()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inW.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadReply(outR); err != nil {
			b.Fatal(err)
		}
	}
	inW.Close()
}

// TestObserveEveryDecision: each request is observed once with its
// result; a database fault is db-unavailable, any other fault (a panic
// included) is error.
func TestObserveEveryDecision(t *testing.T) {
	tests := []struct{ body, want string }{
		{"auth:alice:chat.test:secret", "auth accepted"},
		{"auth:alice:chat.test:nope", "auth bad-password"},
		{"auth:down:chat.test:x", "auth db-unavailable"},
		{"auth:broken:chat.test:x", "auth error"},
		{"auth:boom:chat.test:x", "auth error"},
		{"isuser:alice:chat.test", "isuser accepted"},
		{"isuser:bob:chat.test", "isuser unknown-user"},
		{"isuser:down:chat.test", "isuser db-unavailable"},
		{"isuser:boom:chat.test", "isuser error"},
		{"setpass:alice:chat.test:x", "setpass read-only"},
		{"removeuser:alice:chat.test", "removeuser read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			srv := newServer(t, hclog.NewNullLogger())
			var seen []string
			srv.Observe(func(d provider.Decision) { seen = append(seen, d.Cmd+" "+d.Result) })
			var out bytes.Buffer
			if err := Serve(context.Background(), bytes.NewReader(frame(tt.body)), &out, srv); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 1 || seen[0] != tt.want {
				t.Errorf("observed %q, want [%q]", seen, tt.want)
			}
		})
	}
}

// BenchmarkAnswer is one decision at the edge with the logger extauth
// really runs (hclog, text, Info, to a file) and a decision that costs
// nothing: what the edge itself adds to each request.
func BenchmarkAnswer(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "extauth.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	log := hclog.New(&hclog.LoggerOptions{Name: "livechat-auth", Level: hclog.Info, Output: f}).Named("extauth")
	srv := newServer(b, log)
	ctx := context.Background()
	for _, req := range []Request{
		{Command: CmdAuth, User: "alice", Server: "chat.test", Password: "secret"},
		{Command: CmdIsUser, User: "alice", Server: "chat.test"},
	} {
		b.Run(req.Command, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !srv.answer(ctx, req) {
					b.Fatal("refused")
				}
			}
		})
	}
}
