package extauthd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/xmpp/extauth"
)

// runDaemon runs Run in the background with fakeAuth and no locks; done
// receives its result.
func runDaemon(t *testing.T, cfg DaemonConfig) (logs *syncBuffer, done <-chan error, cancel func()) {
	t.Helper()
	logs = &syncBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch <- Run(ctx, fakeAuth{}, &mapLocks{m: map[string]Lock{}}, log, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("the daemon did not stop")
		}
	})
	return logs, ch, cancel
}

// TestRunAnswersAndReloads: the daemon answers relays and its control
// socket, reloads when its settings file changes or on SIGHUP, and stops
// when Reload asks it to.
func TestRunAnswersAndReloads(t *testing.T) {
	dir := t.TempDir()
	settings := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(settings, []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	var reloads atomic.Int32
	hup := make(chan os.Signal, 1)
	socket := filepath.Join(dir, "d.sock")
	logs, done, _ := runDaemon(t, DaemonConfig{Socket: socket, Timeout: time.Second, Idle: time.Hour, Settings: settings, Hangup: hup,
		Reload: func(context.Context) bool { return reloads.Add(1) == 3 }})
	if !waitFor(func() bool { return strings.Contains(logs.String(), "answering extauth relays") }) {
		t.Fatalf("the daemon did not start:\n%s", logs.String())
	}
	for path, mode := range map[string]os.FileMode{socket: 0o600, ControlSocket(socket): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %04o", path, fi, err, mode)
		}
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(frame("auth:alice:chat.test:secret")); err != nil {
		t.Fatal(err)
	}
	if yes, err := extauth.ReadReply(conn); err != nil || !yes {
		t.Fatalf("reply %v, %v; want yes", yes, err)
	}
	if _, err := NewControlClient(ControlSocket(socket)).Locks(context.Background()); err != nil {
		t.Errorf("control socket: %v", err)
	}
	if err := os.WriteFile(settings, []byte("bb"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return reloads.Load() == 1 }) {
		t.Fatal("a changed settings file was not reloaded")
	}
	hup <- os.Interrupt
	if !waitFor(func() bool { return reloads.Load() == 2 }) {
		t.Fatal("SIGHUP did not reload")
	}
	hup <- os.Interrupt // the third reload asks for a stop
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop when Reload asked")
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("a relay's connection outlived the daemon")
	}
}

// TestRunStopsForANewProgram: replacing the program file stops the
// daemon within its 2 s check.
func TestRunStopsForANewProgram(t *testing.T) {
	dir := t.TempDir()
	program := filepath.Join(dir, "livechat-auth")
	if err := os.WriteFile(program, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	logs, done, _ := runDaemon(t, DaemonConfig{Socket: filepath.Join(dir, "d.sock"), Timeout: time.Second, Idle: time.Hour, Program: program})
	if !waitFor(func() bool { return strings.Contains(logs.String(), "answering extauth relays") }) {
		t.Fatalf("the daemon did not start:\n%s", logs.String())
	}
	if err := os.WriteFile(program+".new", []byte("v2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(program+".new", program); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop when its program was replaced")
	}
	if !strings.Contains(logs.String(), "the program file was replaced") {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

// TestRunStopsWhenItsSocketGoes: a daemon whose socket file was removed
// (a cleaner of the folder) stops within its 2 s check, so that relays
// start one that new extauth processes can reach.
func TestRunStopsWhenItsSocketGoes(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	logs, done, _ := runDaemon(t, DaemonConfig{Socket: socket, Timeout: time.Second, Idle: time.Hour})
	if !waitFor(func() bool { return strings.Contains(logs.String(), "answering extauth relays") }) {
		t.Fatalf("the daemon did not start:\n%s", logs.String())
	}
	if err := os.Remove(socket); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop when its socket was removed")
	}
	if !strings.Contains(logs.String(), "the socket file was removed or replaced") {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

// TestRunExitsWhenIdle: with no relay connected for Idle, the daemon
// exits by itself.
func TestRunExitsWhenIdle(t *testing.T) {
	logs, done, _ := runDaemon(t, DaemonConfig{Socket: filepath.Join(t.TempDir(), "d.sock"), Timeout: time.Second, Idle: time.Millisecond})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("an idle daemon did not exit")
	}
	if !strings.Contains(logs.String(), "no relay for a while; exiting") {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

func TestRunChecksInputs(t *testing.T) {
	if err := Run(context.Background(), nil, nil, nil, DaemonConfig{}); err == nil {
		t.Fatal("accepted")
	}
}
