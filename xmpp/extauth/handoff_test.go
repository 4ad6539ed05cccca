package extauth

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

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

// pipeRelay runs a Relay on a pair of real pipes, as ejabberd gives them,
// with a fallback that refuses everything: a "yes" comes from the daemon.
type pipeRelay struct {
	toRelay   *os.File // ejabberd's end: requests
	fromRelay *os.File // ejabberd's end: replies
	done      chan error
	log       *syncBuffer
}

func startPipeRelay(t *testing.T, socket string) *pipeRelay {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The ends the relay gets are blocking, not pollable, as a process's
	// stdin and stdout are.
	files := HandoffFiles(blockingFile(t, inR), blockingFile(t, outW))
	if files == nil {
		t.Fatal("pipes were not taken as handoff streams")
	}
	p := &pipeRelay{toRelay: inW, fromRelay: outR, done: make(chan error, 1), log: &syncBuffer{}}
	log := hclog.New(&hclog.LoggerOptions{Output: p.log, Level: hclog.Debug})
	fallback, err := New(denyAll{}, log, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := NewRelay(fallback, log, RelayConfig{Socket: socket, Timeout: time.Second, Handoff: files})
	if err != nil {
		t.Fatal(err)
	}
	relay.retry = 50 * time.Millisecond
	go func() { p.done <- relay.Serve(context.Background(), files.In, files.Out) }()
	t.Cleanup(func() {
		inW.Close() // the input ends: the relay (or the daemon serving it) stops
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		outR.Close()
		inR.Close()
		outW.Close()
		files.In.Close()
		files.Out.Close()
	})
	return p
}

// blockingFile returns a duplicate of f in blocking mode, which Go reads
// and writes with plain system calls, as it does os.Stdin.
func blockingFile(t *testing.T, f *os.File) *os.File {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	var derr error
	if err := rc.Control(func(d uintptr) { fd, derr = unix.Dup(int(d)) }); err != nil || derr != nil {
		t.Fatal(err, derr)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	b := os.NewFile(uintptr(fd), f.Name())
	t.Cleanup(func() { b.Close() })
	return b
}

func (p *pipeRelay) ask(t *testing.T, body string) bool {
	t.Helper()
	if _, err := p.toRelay.Write(frame(body)); err != nil {
		t.Fatal(err)
	}
	_ = p.fromRelay.SetReadDeadline(time.Now().Add(5 * time.Second))
	yes, err := ReadReply(p.fromRelay)
	if err != nil {
		t.Fatal(err)
	}
	return yes
}

func TestHandoff(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	daemonLog := &syncBuffer{}
	startDaemonLogged := func() context.CancelFunc {
		ln, err := net.Listen("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			_ = newServer(t, hclog.New(&hclog.LoggerOptions{Output: daemonLog, Level: hclog.Debug})).ServeListener(ctx, ln, nil)
		}()
		return func() { cancel(); <-stopped }
	}
	stop := startDaemonLogged()
	p := startPipeRelay(t, socket)
	if !p.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("the daemon's yes did not come through")
	}
	if p.ask(t, "auth:alice:chat.test:wrong") {
		t.Fatal("a wrong password was accepted")
	}
	if !waitFor(func() bool { return strings.Contains(p.log.String(), "streams handed to the daemon") }) {
		t.Fatalf("the relay did not hand its streams over:\n%s", p.log.String())
	}

	// The daemon stops: it hands the streams back between two requests,
	// and the relay decides alone (its fallback refuses everything).
	stop()
	if !strings.Contains(daemonLog.String(), "handing the streams back") {
		t.Fatalf("the daemon did not hand the streams back:\n%s", daemonLog.String())
	}
	if p.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("with the daemon gone, the relay did not decide alone")
	}
	// A new daemon: the relay connects again and hands the streams over
	// again; the stream stays in step throughout.
	stop = startDaemonLogged()
	defer stop()
	deadline := time.Now().Add(5 * time.Second)
	for !p.ask(t, "auth:alice:chat.test:secret") {
		if time.Now().After(deadline) {
			t.Fatal("the relay did not come back to the daemon")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The yes may have come forwarded, before the streams were offered.
	for strings.Count(p.log.String(), "streams handed to the daemon") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not handed over a second time:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.ask(t, "isuser:nobody:chat.test") || !p.ask(t, "isuser:alice:chat.test") {
		t.Fatal("isuser answers are wrong after the second handoff")
	}

	// ejabberd closes the pipe: the daemon sees the end and the relay
	// returns.
	p.toRelay.Close()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("relay ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the relay did not end after its input closed")
	}
}

// TestHandoffDaemonDies: a daemon that vanishes while it holds the
// streams (no word sent) gives them back as surely as one that stops.
func TestHandoffDaemonDies(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	fakeDaemon(t, socket, func(conn *net.UnixConn) {
		in, out := takeStreams(t, conn)
		in.Close() // and gone, with the connection, without a word
		out.Close()
	})
	p := startPipeRelay(t, socket)
	if !waitFor(func() bool { return strings.Contains(p.log.String(), "daemon lost while answering for this process") }) {
		t.Fatalf("the loss was not logged:\n%s", p.log.String())
	}
	if p.ask(t, "auth:alice:chat.test:secret") {
		t.Fatal("accepted by a fallback that refuses everything")
	}
}

// fakeDaemon listens on socket and hands its first connection to serve,
// closing it after.
func fakeDaemon(t *testing.T, socket string, serve func(conn *net.UnixConn)) {
	t.Helper()
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		serve(conn.(*net.UnixConn))
	}()
}

// takeStreams receives a relay's handoff on conn and says it took them.
func takeStreams(t *testing.T, conn *net.UnixConn) (in, out *os.File) {
	in, out, _, err := receiveHandoff(conn)
	if err != nil || in == nil {
		t.Errorf("no handoff: %v", err)
		return nil, nil
	}
	_ = WriteReply(conn, true) // a relay that gave up no longer reads it
	return in, out
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

func TestHandoffFilesRefusesOtherFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if HandoffFiles(f, w) != nil || HandoffFiles(r, f) != nil || HandoffFiles(nil, w) != nil {
		t.Fatal("a regular file or nil was taken as a handoff stream")
	}
}

// TestLateHandoffLeavesTheRelayWorking: a daemon that takes the streams
// after the relay stopped waiting for it (a stalled daemon) puts them in
// non-blocking mode behind the relay's back; the relay reads on.
func TestLateHandoffLeavesTheRelayWorking(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	relayLog := make(chan *syncBuffer, 1)
	taken := make(chan struct{})
	fakeDaemon(t, socket, func(conn *net.UnixConn) {
		defer close(taken)
		log := <-relayLog
		// Stalled until the relay has given up on it; then it takes the
		// streams its offer still carries.
		if !waitFor(func() bool { return strings.Contains(log.String(), "daemon connection lost") }) {
			t.Error("the relay never gave up on the stalled daemon")
			return
		}
		if in, out, _, err := receiveHandoff(conn); err == nil && in != nil {
			in.Close()
			out.Close()
		}
	})
	p := startPipeRelay(t, socket)
	relayLog <- p.log
	<-taken
	for i := 0; i < 3; i++ {
		if p.ask(t, "auth:alice:chat.test:secret") {
			t.Fatal("accepted by a fallback that refuses everything")
		}
	}
	select {
	case err := <-p.done:
		t.Fatalf("the relay stopped: %v", err)
	default:
	}
}

// TestHandoffEndsWhenEjabberdHangsUp: a daemon that holds the streams and
// answers nothing (stopped, wedged) does not keep the relay alive after
// ejabberd closed the pipe.
func TestHandoffEndsWhenEjabberdHangsUp(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	release := make(chan struct{})
	defer close(release)
	fakeDaemon(t, socket, func(conn *net.UnixConn) {
		if in, out := takeStreams(t, conn); in != nil {
			defer in.Close()
			defer out.Close()
			<-release // taken, and then nothing
		}
	})
	p := startPipeRelay(t, socket)
	if !waitFor(func() bool { return strings.Contains(p.log.String(), "streams handed to the daemon") }) {
		t.Fatal("not handed over")
	}
	p.toRelay.Close()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("relay ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the relay outlived ejabberd's pipe while a wedged daemon held it")
	}
}
