package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"livechat-auth/xmpp/extauth"
)

// extauthPool is a few "livechat-auth extauth" processes the test speaks
// the 2-byte framed protocol to, as ejabberd does: each serves one
// request at a time. A process that leaves a request unanswered for
// hangThreshold is killed and replaced, as ejabberd replaces a worker
// that timed out.
type extauthPool struct {
	argv, env []string
	stderr    *os.File
	broken    *atomic.Bool // the config file is broken: wait before starting a process
	free      chan *extauthConn
	replaced  atomic.Int64

	mu  sync.Mutex
	all map[*extauthConn]bool
}

// extauthConn is one process and the test's ends of its pipes.
type extauthConn struct {
	cmd     *exec.Cmd
	in, out *os.File
	replies chan extauthReply
	exited  chan struct{}
}

type extauthReply struct {
	yes bool
	err error
}

func startExtauthPool(t *testing.T, n int, argv, env []string, stderrPath string, broken *atomic.Bool) *extauthPool {
	t.Helper()
	errFile, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &extauthPool{argv: argv, env: env, stderr: errFile, broken: broken, free: make(chan *extauthConn, n), all: map[*extauthConn]bool{}}
	t.Cleanup(func() { p.close(); errFile.Close() })
	for i := 0; i < n; i++ {
		c, err := p.start()
		if err != nil {
			t.Fatal(err)
		}
		p.free <- c
	}
	return p
}

func (p *extauthPool) start() (*extauthConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	c := &extauthConn{in: inW, out: outR, replies: make(chan extauthReply, 1), exited: make(chan struct{})}
	c.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	c.cmd.Env = p.env
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, p.stderr
	err = c.cmd.Start()
	inR.Close() // the child's ends
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }() // an exit shows up as a failed read
	go func() {
		r := bufio.NewReader(c.out)
		for {
			yes, err := extauth.ReadReply(r)
			c.replies <- extauthReply{yes, err}
			if err != nil {
				return
			}
		}
	}()
	p.mu.Lock()
	p.all[c] = true
	p.mu.Unlock()
	return c, nil
}

// ask sends one request to a free process and waits for its answer.
func (p *extauthPool) ask(ctx context.Context, cmd, user, password string) result {
	var c *extauthConn
	select {
	case c = <-p.free:
	case <-time.After(30 * time.Second):
		return result{detail: "no extauth process free for 30s"}
	}
	frame, err := extauth.AppendRequest(nil, extauth.Request{Command: cmd, User: user, Server: soakHost, Password: password})
	if err != nil {
		p.free <- c
		return result{detail: err.Error()}
	}
	if _, err := c.in.Write(frame); err != nil {
		go p.replace(c)
		return result{detail: "write: " + err.Error()}
	}
	select {
	case r := <-c.replies:
		if r.err != nil {
			go p.replace(c)
			return result{detail: "read: " + r.err.Error()}
		}
		p.free <- c
		return result{accepted: r.yes, detail: "no"}
	case <-time.After(hangThreshold):
		go p.replace(c)
		return result{detail: fmt.Sprintf("no reply in %s; process replaced", hangThreshold)}
	}
}

// replace ends c and puts a new process in its place, once the config
// file is whole.
func (p *extauthPool) replace(c *extauthConn) {
	p.end(c)
	p.replaced.Add(1)
	for {
		for p.broken.Load() {
			time.Sleep(100 * time.Millisecond)
		}
		n, err := p.start()
		if err == nil {
			p.free <- n
			return
		}
		time.Sleep(time.Second)
	}
}

// end closes the process's input (as ejabberd does: a daemon holding the
// pipes sees it end), then kills it and waits for it.
func (p *extauthPool) end(c *extauthConn) {
	p.mu.Lock()
	delete(p.all, c)
	p.mu.Unlock()
	c.in.Close()
	select {
	case <-c.exited:
	case <-time.After(2 * time.Second):
		_ = c.cmd.Process.Kill() // gone meanwhile is fine
		<-c.exited
	}
	c.out.Close()
}

func (p *extauthPool) close() {
	p.mu.Lock()
	all := make([]*extauthConn, 0, len(p.all))
	for c := range p.all {
		all = append(all, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		p.end(c)
	}
}

func (p *extauthPool) pids() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := map[int]bool{}
	for c := range p.all {
		pids[c.cmd.Process.Pid] = true
	}
	return pids
}

// procInfo is one process of the machine.
type procInfo struct {
	pid, ppid int
	argv      []string
}

func (p procInfo) String() string { return fmt.Sprintf("%d %s", p.pid, strings.Join(p.argv, " ")) }

// listProcs reads every process's command line and parent from /proc.
func listProcs() map[int]procInfo {
	out := map[int]procInfo{}
	entries, _ := os.ReadDir("/proc") // an unreadable /proc lists nothing, and the checks below fail
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err1 := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		stat, err2 := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err1 != nil || err2 != nil || len(cmdline) == 0 {
			continue // gone meanwhile, or a zombie or kernel thread
		}
		p := procInfo{pid: pid, argv: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
				p.ppid, _ = strconv.Atoi(f[1]) // a torn read leaves 0: no parent
			}
		}
		out[pid] = p
	}
	return out
}

// leakWatch finds the test's processes left after its cleanup.
type leakWatch struct {
	root string // the folder holding the test's temporary folders
	mu   sync.Mutex
	pids []int // processes whose command line names none of the test's folders (redis-server)
}

func (w *leakWatch) add(pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pids = append(w.pids, pid)
}

// ours lists the running processes of this test: those started with one
// of the test's folders on their command line (its livechat-auth
// processes name its config file), and the processes added. Processes
// of other tests of the same run (the same binary) are not counted.
func (w *leakWatch) ours() []procInfo {
	w.mu.Lock()
	extra := map[int]bool{}
	for _, pid := range w.pids {
		extra[pid] = true
	}
	w.mu.Unlock()
	var out []procInfo
	for _, p := range listProcs() {
		if p.pid == os.Getpid() {
			continue
		}
		if strings.Contains(strings.Join(p.argv, " "), w.root) || extra[p.pid] {
			out = append(out, p)
		}
	}
	return out
}

// watchLeaks is called first in a test, so that its cleanup runs after
// every other: then no process of the test may be left.
func watchLeaks(t *testing.T) *leakWatch {
	t.Helper()
	w := &leakWatch{root: filepath.Dir(t.TempDir())}
	if before := w.ours(); len(before) > 0 {
		t.Fatalf("processes of this test run before it starts: %v", before)
	}
	t.Cleanup(func() {
		var left []procInfo
		if !eventually(t, 15*time.Second, func() bool { left = w.ours(); return len(left) == 0 }) {
			t.Errorf("%d processes left after the cleanup (now killed):\n%v", len(left), left)
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL) // ours, by pid; gone meanwhile is fine
			}
			return
		}
		t.Logf("no process of the test left after its cleanup")
	})
	return w
}

// checkAlive checks, at the end of the run, that nothing crashed: serve,
// ejabberd, Prosody, Redis and the one daemon still run, the test's
// livechat-auth processes are the expected ones (none left behind by an
// ejabberd restart or a daemon kill), and no log holds a panic.
func (s *soakStack) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-s.srv.exited:
		t.Errorf("serve exited: %v (stderr in %s)", s.srv.cmd.ProcessState, s.serveErr)
	default:
	}
	ej := s.ej.Load()
	for name, port := range map[string]int{"ejabberd": ej.C2SPort, "Prosody": s.pr.C2SPort, "Redis": s.redisPort} {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
		if err != nil {
			t.Errorf("%s does not answer at the end: %v", name, err)
			continue
		}
		c.Close()
	}
	if pids := daemonPIDs(t, ej.RunDir); len(pids) != 1 || pids[0] != s.daemon {
		t.Errorf("daemons at the end: %v, want only %d", pids, s.daemon)
	}
	var serveN, daemonN int
	var stray []procInfo
	if !eventually(t, 15*time.Second, func() bool {
		serveN, daemonN, stray = s.countProcs(ej)
		return serveN == 1 && daemonN == 1 && len(stray) == 0
	}) {
		t.Errorf("livechat-auth processes at the end: %d serve (want 1), %d daemons (want 1), extauth processes of no ejabberd and not the test's: %v",
			serveN, daemonN, stray)
	}
	logs := []string{s.logPath, s.serveLog, s.serveErr, s.x.stderr.Name(), ej.LogPath, s.pr.LogPath}
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			continue
		}
		for _, bad := range []string{"panic:", "fatal error", "stack traceback"} {
			if i := bytes.Index(data, []byte(bad)); i >= 0 {
				t.Errorf("%s holds %q: %.300s", path, bad, data[i:])
			}
		}
	}
	if _, err := os.Stat(filepath.Join(ej.Dir, "log", "erl_crash.dump")); err == nil {
		t.Errorf("ejabberd left a crash dump in %s", filepath.Join(ej.Dir, "log"))
	}
	t.Logf("extauth processes of the test replaced after a hang or an exit: %d", s.x.replaced.Load())
}

// countProcs counts the test's serve and daemon processes (those naming
// its config file), and lists its extauth processes that neither the
// running ejabberd nor the test started.
func (s *soakStack) countProcs(ej *ejabberd) (serveN, daemonN int, stray []procInfo) {
	procs := listProcs()
	mine := s.x.pids()
	mark := filepath.Join(ej.Dir, "db") // on the Erlang VM's command line (-mnesia dir)
	owned := func(p procInfo) bool {
		if mine[p.pid] {
			return true
		}
		for i := 0; i < 8 && p.pid > 1; i++ { // up to the Erlang VM, through erl_child_setup
			if strings.Contains(strings.Join(p.argv, " "), mark) {
				return true
			}
			p = procs[p.ppid]
		}
		return false
	}
	for _, p := range procs {
		if len(p.argv) < 2 || p.argv[0] != binPath || !strings.Contains(strings.Join(p.argv, " "), s.cfgPath) {
			continue // not this test's
		}
		switch p.argv[1] {
		case "serve":
			serveN++
		case daemonSubcommand:
			daemonN++
		case "extauth":
			if !owned(p) {
				stray = append(stray, p)
			}
		}
	}
	return serveN, daemonN, stray
}

// daemonSubcommand is the hidden subcommand of the automatic daemon.
const daemonSubcommand = "extauth-daemon"

// keepLogs copies the logs of a failed run to a folder that outlives the
// test, and names it.
func (s *soakStack) keepLogs(t *testing.T) {
	if !t.Failed() {
		return
	}
	dir, err := os.MkdirTemp("", "livechat-soak-logs-")
	if err != nil {
		t.Logf("keep the logs: %v", err)
		return
	}
	ej := s.ej.Load()
	for name, path := range map[string]string{
		"livechat-auth.log": s.logPath, "serve.log": s.serveLog, "serve.stderr": s.serveErr,
		"extauth.stderr": s.x.stderr.Name(), "ejabberd.log": ej.LogPath, "prosody.log": s.pr.LogPath,
	} {
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o600)
		}
		if err != nil {
			t.Logf("keep %s: %v", name, err)
		}
	}
	t.Logf("the logs of this run are kept in %s", dir)
}
