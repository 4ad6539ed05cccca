package extauth

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

const aToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

// TestRelayRefusesTokensWhileUnshared: with the daemon out of reach, a
// password is decided locally but a token is refused, with one warning
// per outage; once the daemon is back, tokens go to it again.
func TestRelayRefusesTokensWhileUnshared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	fallback, err := New(yesAll{}, hclog.NewNullLogger(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
	relay, err := NewRelay(fallback, log, RelayConfig{Socket: path, Timeout: time.Second, Tokens: true})
	if err != nil {
		t.Fatal(err)
	}
	relay.retry = 0
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
	if !ask("auth:alice:chat.test:a password") {
		t.Error("a password was not decided locally while the daemon is down")
	}
	for i := 0; i < 3; i++ {
		if ask("auth:alice:chat.test:" + aToken) {
			t.Fatal("a token was decided locally while the daemon is down")
		}
	}
	if n := strings.Count(logs.String(), "reason="+ReasonTokenUnshared); n != 3 {
		t.Errorf("%d refusals logged with reason=%s, want 3:\n%s", n, ReasonTokenUnshared, logs.String())
	}
	if n := strings.Count(logs.String(), "refusing token sign-ins until the daemon is back"); n != 1 {
		t.Errorf("%d outage warnings about tokens, want 1:\n%s", n, logs.String())
	}
	defer startDaemon(t, path)()
	if ask("auth:alice:chat.test:" + aToken) { // the daemon's fake refuses anything but "secret"
		t.Error("the token was not asked of the daemon once it was back")
	}
	if !ask("auth:alice:chat.test:secret") {
		t.Error("the daemon's yes did not come through")
	}
}

// TestRelayUnsharedByConfig: a relay told that no daemon may be used
// decides passwords locally and refuses tokens, without dialing.
func TestRelayUnsharedByConfig(t *testing.T) {
	fallback, err := New(yesAll{}, hclog.NewNullLogger(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := NewRelay(fallback, hclog.NewNullLogger(), RelayConfig{Timeout: time.Second, Tokens: true, Unshared: errors.New("unsafe folder")})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	in := append(frame("auth:alice:chat.test:pw"), frame("auth:alice:chat.test:"+aToken)...)
	if err := relay.Serve(context.Background(), bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.Bytes(); !bytes.Equal(got, []byte{0, 2, 0, 1, 0, 2, 0, 0}) {
		t.Fatalf("replies %x, want yes to the password and no to the token", got)
	}
}

func TestCheckPrivateDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := mk("good", 0o700)
	if err := CheckPrivateDir(good, os.Getuid()); err != nil {
		t.Errorf("a 0700 folder of ours refused: %v", err)
	}
	if err := CheckPrivateDir(mk("open", 0o755), os.Getuid()); err != nil {
		t.Errorf("a 0755 folder of ours refused: %v", err)
	}
	for _, bad := range []struct{ name, dir, want string }{
		{"world-writable", mk("world", 0o777), "group or others"},
		{"group-writable", mk("group", 0o770), "group or others"},
		{"sticky /tmp-like", mk("sticky", os.ModeSticky|0o777), "group or others"},
		{"symbolic link", symlink(t, good, filepath.Join(base, "link")), "not a folder"},
		{"missing", filepath.Join(base, "none"), "no such file"},
	} {
		if err := CheckPrivateDir(bad.dir, os.Getuid()); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want an error saying %q", bad.name, err, bad.want)
		}
	}
	if err := CheckPrivateDir(good, os.Getuid()+1); err == nil || !strings.Contains(err.Error(), "owned by uid") {
		t.Errorf("a folder of another user: got %v", err)
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// TestPrivateDirFromRuntimeDirectory: systemd's folder is used when set,
// and refused when unsafe; otherwise a folder is made with mode 0700.
func TestPrivateDirFromRuntimeDirectory(t *testing.T) {
	rd := t.TempDir()
	env := map[string]string{"RUNTIME_DIRECTORY": rd + ":/other"}
	getenv := func(k string) string { return env[k] }
	if d, err := PrivateDir(getenv, os.Getuid()); err != nil || d != rd {
		t.Errorf("PrivateDir = %q, %v; want %q", d, err, rd)
	}
	if err := os.Chmod(rd, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := PrivateDir(getenv, os.Getuid()); err == nil {
		t.Error("a world-writable RUNTIME_DIRECTORY was accepted")
	}
	if os.Getuid() == 0 {
		return // root may make /run/livechat-auth-0; leave the real /run alone
	}
	tmp := t.TempDir()
	env = map[string]string{"TMPDIR": tmp}
	d, err := PrivateDir(getenv, os.Getuid())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("made %s with %v, %v; want mode 0700", d, fi.Mode(), err)
	}
}

// TestAutoStartStartsOneDaemon: relays racing to start a daemon start one
// between them, and none when one already answers.
func TestAutoStartStartsOneDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auto.sock")
	var spawned atomic.Int32
	var stop context.CancelFunc
	var mu sync.Mutex
	spawn := func(string) error {
		spawned.Add(1)
		go func() { // the daemon takes a moment to listen
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			stop = startDaemon(t, path)
			mu.Unlock()
		}()
		return nil
	}
	start := AutoStart(spawn, 3*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- start(context.Background(), path) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := spawned.Load(); n != 1 {
		t.Errorf("%d daemons started, want 1", n)
	}
	if err := start(context.Background(), path); err != nil || spawned.Load() != 1 {
		t.Errorf("with a daemon answering: err %v, %d started in all", err, spawned.Load())
	}
	mu.Lock()
	stop()
	mu.Unlock()
}

// TestAutoStartGivesUp: a daemon that never answers is waited for a
// bounded time, and the error says so.
func TestAutoStartGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.sock")
	start := AutoStart(func(string) error { return nil }, 200*time.Millisecond)
	began := time.Now()
	err := start(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("waited %s", d)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Error("something answers")
	}
}

func TestActivityIdle(t *testing.T) {
	var a Activity
	now := time.Now()
	if d := a.IdleFor(now); d != 0 {
		t.Fatalf("idle %s before anything happened", d)
	}
	if d := a.IdleFor(now.Add(time.Minute)); d != time.Minute {
		t.Fatalf("idle %s a minute after start, want 1m", d)
	}
	a.conns.Add(1)
	if d := a.IdleFor(now.Add(time.Hour)); d != 0 {
		t.Fatalf("idle %s with a relay connected", d)
	}
}

// TestPrivateDirPassesOverASquattedFolder: a folder someone else could
// write (made first by another local user, say) is passed over for the
// next place, never used.
func TestPrivateDirPassesOverASquattedFolder(t *testing.T) {
	base := t.TempDir()
	squatted := filepath.Join(base, "squatted")
	if err := os.Mkdir(squatted, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(squatted, 0o777); err != nil { // as if another user had made it open
		t.Fatal(err)
	}
	next := filepath.Join(base, "next")
	d, err := firstPrivateDir([]string{squatted, next}, os.Getuid())
	if err != nil || d != next {
		t.Fatalf("firstPrivateDir = %q, %v; want %q", d, err, next)
	}
	if _, err := firstPrivateDir([]string{squatted}, os.Getuid()); err == nil {
		t.Fatal("a squatted folder was used when no other place was left")
	}
}

// TestDaemonSocketFindsTheRunningDaemon: a daemon answering in a later
// place is used rather than the first safe place, so that a pool whose
// first usable place changed meanwhile still shares one daemon.
func TestDaemonSocketFindsTheRunningDaemon(t *testing.T) {
	base := t.TempDir()
	first, second := filepath.Join(base, "first"), filepath.Join(base, "second")
	for _, d := range []string{first, second} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	places := []string{first, second}
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(first, "d.sock") {
		t.Fatalf("with no daemon: %q, %v; want the first place", p, err)
	}
	stop := startDaemon(t, filepath.Join(second, "d.sock"))
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(second, "d.sock") {
		t.Fatalf("with a daemon in the second place: %q, %v; want it", p, err)
	}
	// The daemon is gone (an upgrade, a crash) but left its pid file, and
	// the journal beside it: its successor starts in the same place.
	stop()
	os.Remove(filepath.Join(second, "d.sock"))
	if err := os.WriteFile(PIDFile(filepath.Join(second, "d.sock")), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(second, "d.sock") {
		t.Fatalf("after the daemon of the second place stopped: %q, %v; want the same place", p, err)
	}
}
