package extauthd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// AutoStart returns a RelayConfig.Start function. Under an exclusive lock
// on StartLock(socket) it checks whether a daemon runs for socket (one
// may have been started meanwhile: it holds PIDFile(socket) and answers
// on socket) and, when none does, runs spawn for socket and waits up to
// wait for the new daemon to answer, or less when the daemon exits
// first (spawn's exited is closed then; nil: not known). Both tests
// count: a daemon killed a moment ago may still accept a connection on
// its way out, but not hold its pid file, or the other way round.
func AutoStart(spawn func(socket string) (exited <-chan struct{}, err error), wait time.Duration) func(ctx context.Context, socket string) error {
	return func(ctx context.Context, socket string) error {
		ctx, cancel := context.WithTimeout(ctx, wait+time.Second)
		defer cancel()
		unlock, err := lockFile(ctx, StartLock(socket))
		if err != nil {
			return err
		}
		defer unlock()
		if pidFileHeld(socket) && answers(ctx, socket) {
			return nil
		}
		exited, err := spawn(socket)
		if err != nil {
			return fmt.Errorf("start the daemon: %w", err)
		}
		deadline := time.Now().Add(wait)
		for !answers(ctx, socket) {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("the daemon started but did not answer on %s within %s", socket, wait)
			}
			select {
			case <-exited:
				if answers(ctx, socket) { // it found another daemon answering, and left it
					return nil
				}
				return fmt.Errorf("the daemon started for %s exited at once (its log says why)", socket)
			case <-time.After(20 * time.Millisecond):
			}
		}
		return nil
	}
}

// answers reports whether something trusted accepts connections on socket.
func answers(ctx context.Context, socket string) bool {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	c, err := d.DialContext(dctx, "unix", socket)
	if err != nil {
		return false
	}
	defer c.Close()
	return TrustedPeer(c, socket) == nil
}

// pidFileHeld reports whether a process holds PIDFile(socket) locked: a
// daemon runs (or starts) for socket.
func pidFileHeld(socket string) bool {
	f, err := os.Open(PIDFile(socket))
	if err != nil {
		return false
	}
	defer f.Close() // and a shared lock with it, if taken
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB), unix.EWOULDBLOCK)
}

// lockFile takes an exclusive lock on path (made 0600 if missing),
// waiting until ctx ends. unlock releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: held by another process", path)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// HoldPIDFile locks PIDFile(socket) for the life of the process, waiting
// up to wait for an earlier daemon to let go, and writes this process's
// id into it. An error means another daemon still runs for socket.
func HoldPIDFile(ctx context.Context, socket string, wait time.Duration) (release func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	path := PIDFile(socket)
	unlock, err := lockFile(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// Spawn starts program with args as a daemon: in its own session, in
// "/", with nothing inherited but the environment (stdin, stdout and
// stderr are /dev/null), so that it outlives the process that started
// it and a closed pipe of ours can never stop it (a write on a broken
// stdout or stderr ends a Go program). A goroutine reaps it should it
// exit first, and then closes exited.
//
// log, when not nil, is handed over as the daemon's file descriptor
// LogFD: the spawner's stderr, where the chat server's log (the
// container's, the journal) collects what its extauth processes say.
// The daemon copies its log there, with InheritedLog, while it can.
func Spawn(log *os.File, program string, args ...string) (exited <-chan struct{}, err error) {
	cmd := exec.Command(program, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if log != nil {
		cmd.ExtraFiles = []*os.File{log} // LogFD
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // it reports in its own log
	return done, nil
}

// ProgramPath is the program file as it was started (arg0 is os.Args[0]):
// its absolute path as given or as found through PATH (through a symbolic
// link, if that is how it was named, so that an upgrade that points the
// link elsewhere is seen), else the running executable.
func ProgramPath(arg0 string) (string, error) {
	switch {
	case filepath.IsAbs(arg0):
		return arg0, nil
	case !strings.Contains(arg0, "/"):
		if p, err := exec.LookPath(arg0); err == nil && filepath.IsAbs(p) {
			return p, nil // found through PATH, as the shell found it
		}
	}
	return os.Executable()
}

// LogFD is the file descriptor Spawn hands the daemon its log on.
const LogFD = 3

// InheritedLog is a writer on the file descriptor fd (LogFD, from
// Spawn), or nil when fd is not open. It never holds up its caller: the
// lines go out from a goroutine, and are dropped when 1,000 lines or
// 1 MiB wait (a chat server that stopped reading its stderr) or after
// the first failed write (its pipe closed). The daemon's own log file
// keeps everything.
func InheritedLog(fd int) io.Writer {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil
	}
	l := &inheritedLog{lines: make(chan []byte, 1000)}
	f := os.NewFile(uintptr(fd), "inherited-log")
	go func() {
		for p := range l.lines {
			l.queued.Add(-int64(len(p)))
			if _, err := f.Write(p); err != nil {
				l.dead.Store(true)
				_ = f.Close() // nothing more will be written there
				return
			}
		}
	}()
	return l
}

type inheritedLog struct {
	lines  chan []byte
	queued atomic.Int64 // bytes waiting in lines
	dead   atomic.Bool
}

// maxQueued bounds the bytes waiting to be copied.
const maxQueued = 1 << 20

func (l *inheritedLog) Write(p []byte) (int, error) {
	if !l.dead.Load() && l.queued.Load()+int64(len(p)) <= maxQueued {
		l.queued.Add(int64(len(p)))
		select {
		case l.lines <- append([]byte(nil), p...):
		default: // full: dropped here, kept in the log file
			l.queued.Add(-int64(len(p)))
		}
	}
	return len(p), nil
}
