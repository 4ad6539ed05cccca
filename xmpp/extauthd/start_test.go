package extauthd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAutoStartStartsOneDaemon: relays racing to start a daemon start one
// between them, and none when one already answers.
func TestAutoStartStartsOneDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auto.sock")
	var spawned atomic.Int32
	var stop func()
	var mu sync.Mutex
	spawn := func(string) (<-chan struct{}, error) {
		spawned.Add(1)
		go func() { // the daemon takes a moment to listen
			release, err := HoldPIDFile(context.Background(), path, time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(release)
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			stop = startDaemon(t, path)
			mu.Unlock()
		}()
		return nil, nil
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
	start := AutoStart(func(string) (<-chan struct{}, error) { return nil, nil }, 200*time.Millisecond)
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

// TestAutoStartIgnoresADyingDaemon: something that accepts connections on
// the socket while no process holds the pid file (a daemon killed a
// moment ago, on its way out) is no daemon: one is started.
func TestAutoStartIgnoresADyingDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dying.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var spawned atomic.Int32
	start := AutoStart(func(string) (<-chan struct{}, error) { spawned.Add(1); return nil, nil }, time.Second)
	if err := start(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	if n := spawned.Load(); n != 1 {
		t.Errorf("%d daemons started, want 1", n)
	}
}

// TestAutoStartStopsWaitingForADeadDaemon: a daemon that exits at start
// (it cannot open its records, say) is not waited for: the error comes
// at once, not after the whole wait.
func TestAutoStartStopsWaitingForADeadDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.sock")
	start := AutoStart(func(string) (<-chan struct{}, error) {
		exited := make(chan struct{})
		go func() { time.Sleep(50 * time.Millisecond); close(exited) }()
		return exited, nil
	}, 3*time.Second)
	began := time.Now()
	err := start(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "exited at once") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("waited %s for a daemon that had exited", d)
	}
}

// TestInheritedLogNeverBlocks: a pipe nobody reads never holds up the
// writer (lines past the bound are dropped), and a closed pipe ends the
// copy without an error to the writer.
func TestInheritedLogNeverBlocks(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	log := InheritedLog(int(w.Fd()))
	if log == nil {
		t.Fatal("no writer on an open descriptor")
	}
	line := []byte(strings.Repeat("x", 16<<10) + "\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ { // 16 MiB, where a pipe holds 64 KiB
			if n, err := log.Write(line); n != len(line) || err != nil {
				t.Errorf("write %d: %d, %v", i, n, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writing to a pipe nobody reads blocked")
	}
	r.Close() // the reader is gone: the copy stops, the writer does not notice
	for i := 0; i < 100; i++ {
		if _, err := log.Write(line); err != nil {
			t.Fatalf("after the pipe closed: %v", err)
		}
	}
	if InheritedLog(1<<20) != nil {
		t.Error("a writer on a descriptor that is not open")
	}
}
