package test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateRun returns a folder of the test's own for the automatic extauth
// daemon (RUNTIME_DIRECTORY), and stops every daemon running from it when
// the test ends: they would otherwise outlive it by their idle time.
func privateRun(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { stopDaemons(t, dir) })
	return dir
}

// stopDaemons sends SIGTERM to each daemon holding a pid file in dir and
// waits for it to let go of the file.
func stopDaemons(t testing.TB, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid")) // the pattern is valid
	for _, f := range files {
		if pid, alive := daemonPID(t, f); alive {
			_ = syscall.Kill(pid, syscall.SIGTERM) // gone meanwhile is fine
			if !eventually(t, 10*time.Second, func() bool { _, alive := daemonPID(t, f); return !alive }) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the extauth daemon %d did not stop on SIGTERM", pid)
			}
		}
	}
}

// daemonPID reads a daemon's pid file and reports whether the daemon
// still holds it locked.
func daemonPID(t testing.TB, pidFile string) (pid int, alive bool) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(string(data))) // a torn write reads as 0
	f, err := os.Open(pidFile)
	if err != nil {
		return pid, false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	return pid, errors.Is(err, syscall.EWOULDBLOCK)
}

// daemonPIDs returns the pids of the daemons running from dir.
func daemonPIDs(t testing.TB, dir string) []int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid")) // the pattern is valid
	var pids []int
	for _, f := range files {
		if pid, alive := daemonPID(t, f); alive {
			pids = append(pids, pid)
		}
	}
	return pids
}
