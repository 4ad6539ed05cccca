package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"golang.org/x/sys/unix"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauth"
)

// lockInfo is one account locked by the failure limit, as the control
// channel reports it.
type lockInfo struct {
	Name     string    `json:"name"`
	Failures int       `json:"failures"`
	Guesses  int       `json:"guesses"` // refused while locked, in the window
	Sealed   bool      `json:"sealed"`  // a proven password is refused too
	Until    time.Time `json:"until"`
}

// lockKeeper lists and clears the locks of the running decision maker.
type lockKeeper interface {
	locks() []lockInfo
	lockOf(user string) (lockInfo, bool)
	unlock(user string) bool
}

// serveControl answers the operator's commands (livechat-auth locks,
// check) over HTTP on a Unix socket beside the relay socket: mode 0600,
// and only connections from root or this daemon's own user are served.
// It returns once listening; it stops with ctx.
func serveControl(ctx context.Context, path string, keeper lockKeeper, log hclog.Logger) error {
	ln, err := listenPrivate(path)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           controlHandler(keeper, log),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ownerOnly{ln, log}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control socket stopped", "error", err)
		}
	}()
	return nil
}

// ownerOnly drops connections from any user but root and our own.
type ownerOnly struct {
	net.Listener
	log hclog.Logger
}

func (l ownerOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, pid, err := extauth.PeerCredentials(c)
		if err == nil && (uid == 0 || uid == os.Getuid()) {
			return c, nil
		}
		l.log.Warn("control connection refused", "uid", uid, "pid", pid, "error", err)
		c.Close()
	}
}

func controlHandler(keeper lockKeeper, log hclog.Logger) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
	}
	mux.HandleFunc("GET /v1/locks", func(w http.ResponseWriter, _ *http.Request) {
		locks := keeper.locks()
		if locks == nil {
			locks = []lockInfo{}
		}
		reply(w, http.StatusOK, map[string]any{"locks": locks})
	})
	mux.HandleFunc("GET /v1/locks/{user}", func(w http.ResponseWriter, r *http.Request) {
		if l, ok := keeper.lockOf(r.PathValue("user")); ok {
			reply(w, http.StatusOK, l)
			return
		}
		reply(w, http.StatusNotFound, map[string]string{"error": "not locked"})
	})
	mux.HandleFunc("DELETE /v1/locks/{user}", func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		if !keeper.unlock(user) {
			reply(w, http.StatusNotFound, map[string]string{"error": "not locked"})
			return
		}
		log.Info("lock cleared by the operator", "user", user)
		reply(w, http.StatusOK, map[string]bool{"cleared": true})
	})
	return mux
}

// controlClient asks a daemon's control socket.
type controlClient struct {
	socket string
	http   *http.Client
}

func newControlClient(socket string) *controlClient {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", socket)
		if err != nil {
			return nil, err
		}
		if err := extauth.TrustedPeer(c, socket); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return &controlClient{socket: socket, http: &http.Client{
		Transport: &http.Transport{DialContext: dial},
		Timeout:   5 * time.Second,
	}}
}

// do sends one request and decodes a 200 reply into out. found is false
// on a 404.
func (c *controlClient) do(ctx context.Context, method, path string, out any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://daemon"+path, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, json.NewDecoder(resp.Body).Decode(out)
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode) // the daemon's own words stay off the terminal
}

func (c *controlClient) locks(ctx context.Context) ([]lockInfo, error) {
	var out struct {
		Locks []lockInfo `json:"locks"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/locks", &out)
	return out.Locks, err
}

func (c *controlClient) lockOf(ctx context.Context, user string) (lockInfo, bool, error) {
	var l lockInfo
	found, err := c.do(ctx, http.MethodGet, "/v1/locks/"+url.PathEscape(user), &l)
	return l, found, err
}

func (c *controlClient) unlock(ctx context.Context, user string) (bool, error) {
	var out map[string]bool
	return c.do(ctx, http.MethodDelete, "/v1/locks/"+url.PathEscape(user), &out)
}

// findControl returns a client for the control socket of the daemon that
// keeps the shared state of these settings: serve's (extauth.daemon_socket)
// or the automatic daemon's, in this user's private folder or, for root,
// in any user's.
func findControl(cfg config.Config, cfgPath string, getenv func(string) string) (*controlClient, error) {
	switch s := cfg.Extauth.DaemonSocket; s {
	case config.DaemonOff:
		return nil, errors.New("extauth.daemon_socket is off: each extauth process keeps its own failure counts, which only restarting ejabberd clears")
	case "":
	default:
		return newControlClient(extauth.ControlSocket(s)), nil
	}
	name := extauth.ControlSocket("extauth-" + settingsKey(cfgPath, getenv) + ".sock")
	var found []string
	seen := map[string]bool{}
	for _, dir := range controlDirs(getenv) {
		p := filepath.Join(dir, name)
		if !seen[p] && safeControl(dir, p) {
			found = append(found, p)
		}
		seen[p] = true
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no automatic daemon runs for these settings (looked for %s in the private folders): no extauth process has relayed to one in the last 15 minutes, or it runs under a user whose folder this user cannot see", name)
	case 1:
		return newControlClient(found[0]), nil
	}
	// Root sees every user's folder, and any local user could make one
	// with a socket of this name: never guess which is the chat server's.
	return nil, fmt.Errorf("daemons of several users answer for these settings (%s): run this as the chat server's user (runuser -u ejabberd -- livechat-auth …)", strings.Join(found, ", "))
}

// safeControl reports whether p is a socket, owned by the owner of its
// folder dir, in a folder that owner alone may write, answered by a
// process of that owner running this very program: what a daemon of
// that user makes, and no one else could have put there or answer on.
func safeControl(dir, p string) bool {
	var d, f unix.Stat_t
	if unix.Stat(dir, &d) != nil || unix.Lstat(p, &f) != nil {
		return false
	}
	if f.Mode&unix.S_IFMT != unix.S_IFSOCK || f.Uid != d.Uid || extauth.CheckPrivateDir(dir, int(d.Uid)) != nil {
		return false
	}
	c, err := net.DialTimeout("unix", p, 500*time.Millisecond)
	if err != nil {
		return false // a socket nobody answers on is no daemon
	}
	defer c.Close()
	uid, pid, err := extauth.PeerCredentials(c)
	if err != nil || uid != int(d.Uid) {
		return false
	}
	return sameProgram(pid)
}

// sameProgram reports whether process pid runs the program this process
// runs (the same file), so that a stand-in server someone started on a
// socket of the right name is not taken for a daemon.
func sameProgram(pid int) bool {
	mine, err := os.Executable()
	if err != nil {
		return false
	}
	a, err := os.Stat(mine)
	if err != nil {
		return false
	}
	b, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && os.SameFile(a, b)
}

// controlDirs lists the private folders where a daemon may run: this
// user's, and for root every user's.
func controlDirs(getenv func(string) string) []string {
	var dirs []string
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		d, _, _ = strings.Cut(d, ":")
		dirs = append(dirs, d)
	}
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	own := fmt.Sprintf("livechat-auth-%d", os.Getuid())
	dirs = append(dirs, filepath.Join("/run", own), filepath.Join(tmp, own))
	if home := getenv("HOME"); home != "" {
		dirs = append(dirs, filepath.Join(home, ".livechat-auth"))
	}
	if os.Getuid() == 0 {
		dirs = append(dirs, "/run/livechat-auth") // systemd's RuntimeDirectory=livechat-auth
		for _, pattern := range []string{"/run/livechat-auth-*", filepath.Join(tmp, "livechat-auth-*")} {
			more, _ := filepath.Glob(pattern) // the patterns are valid
			dirs = append(dirs, more...)
		}
		dirs = append(dirs, homeDirs()...)
	}
	return dirs
}

// homeDirs lists the automatic daemon's folder in every account's home
// (from /etc/passwd) where one exists.
func homeDirs() []string {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Split(line, ":"); len(f) >= 6 && filepath.IsAbs(f[5]) {
			if d := filepath.Join(f[5], ".livechat-auth"); socketFolder(d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

func socketFolder(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}
