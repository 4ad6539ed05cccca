package extauthd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ControlClient asks a daemon's control socket. It is safe for
// concurrent use.
type ControlClient struct {
	socket string
	http   *http.Client
}

// NewControlClient returns a client of the control socket at path. Each
// connection is checked with TrustedPeer before a request is sent.
func NewControlClient(path string) *ControlClient {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return nil, err
		}
		if err := TrustedPeer(c, path); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return &ControlClient{socket: path, http: &http.Client{
		Transport: &http.Transport{DialContext: dial},
		Timeout:   5 * time.Second,
	}}
}

// Socket is the control socket's path.
func (c *ControlClient) Socket() string { return c.socket }

// do sends one request and decodes a 200 reply into out. found is false
// on a 404.
func (c *ControlClient) do(ctx context.Context, method, path string, out any) (found bool, err error) {
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

// Locks lists the locked accounts.
func (c *ControlClient) Locks(ctx context.Context) ([]Lock, error) {
	var out struct {
		Locks []Lock `json:"locks"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/locks", &out)
	return out.Locks, err
}

// LockOf returns user's lock; locked is false when there is none.
func (c *ControlClient) LockOf(ctx context.Context, user string) (l Lock, locked bool, err error) {
	locked, err = c.do(ctx, http.MethodGet, "/v1/locks/"+url.PathEscape(user), &l)
	return l, locked, err
}

// Unlock clears user's lock; cleared is false when there was none.
func (c *ControlClient) Unlock(ctx context.Context, user string) (cleared bool, err error) {
	var out map[string]bool
	return c.do(ctx, http.MethodDelete, "/v1/locks/"+url.PathEscape(user), &out)
}

// FindControl returns a client for the control socket called name of the
// automatic daemon that runs for these settings, in this user's private
// places or, for root, in any user's. It asks only a socket answered by
// this very program running as the owner of its folder, and refuses to
// guess when daemons of several users answer.
func FindControl(name string, getenv func(string) string) (*ControlClient, error) {
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
		return NewControlClient(found[0]), nil
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
	if f.Mode&unix.S_IFMT != unix.S_IFSOCK || f.Uid != d.Uid || CheckPrivateDir(dir, int(d.Uid)) != nil {
		return false
	}
	c, err := net.DialTimeout("unix", p, 500*time.Millisecond)
	if err != nil {
		return false // a socket nobody answers on is no daemon
	}
	defer c.Close()
	uid, pid, err := PeerCredentials(c)
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
			if d := filepath.Join(f[5], ".livechat-auth"); isDir(d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}
