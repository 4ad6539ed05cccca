package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauthd"
)

// fakeLocks keeps locks in a map.
type fakeLocks struct {
	mu sync.Mutex
	m  map[string]lockInfo
}

func (f *fakeLocks) locks() []lockInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []lockInfo
	for _, l := range f.m {
		out = append(out, l)
	}
	return out
}

func (f *fakeLocks) lockOf(user string) (lockInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.m[user]
	return l, ok
}

func (f *fakeLocks) unlock(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[user]
	delete(f.m, user)
	return ok
}

// TestControlRoundTrip: the client lists, reads and clears locks over the
// control socket, which only its owner may use.
func TestControlRoundTrip(t *testing.T) {
	until := time.Now().Add(time.Minute).Truncate(time.Second)
	keeper := &fakeLocks{m: map[string]lockInfo{"zoë": {Name: "zoë", Failures: 6, Until: until}}}
	path := filepath.Join(t.TempDir(), "d.control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := serveControl(ctx, path, keeper, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	c := controlClient{extauthd.NewControlClient(path)}
	locks, err := c.locks(ctx)
	if err != nil || len(locks) != 1 || locks[0].Name != "zoë" || locks[0].Failures != 6 || !locks[0].Until.Equal(until) {
		t.Fatalf("locks = %+v, %v", locks, err)
	}
	if l, found, err := c.lockOf(ctx, "zoë"); err != nil || !found || l.Failures != 6 {
		t.Fatalf("lockOf(zoë) = %+v, %v, %v", l, found, err)
	}
	if _, found, err := c.lockOf(ctx, "alice"); err != nil || found {
		t.Fatalf("lockOf(alice) = %v, %v; want not found", found, err)
	}
	if cleared, err := c.unlock(ctx, "zoë"); err != nil || !cleared {
		t.Fatalf("unlock(zoë) = %v, %v", cleared, err)
	}
	if cleared, err := c.unlock(ctx, "zoë"); err != nil || cleared {
		t.Fatalf("a second unlock(zoë) = %v, %v; want not found", cleared, err)
	}
	if locks, err := c.locks(ctx); err != nil || len(locks) != 0 {
		t.Fatalf("locks after clearing = %+v, %v", locks, err)
	}
}

// TestFindControlTrustsNoStandIn: root sees every user's folder, and a
// local user can put a socket of the right name in a folder of their
// own. A socket not answered by a process of the folder's owner running
// this program (here: a listener of the test, and a socket no one
// answers on) is never asked.
func TestFindControlTrustsNoStandIn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make folders of other users")
	}
	tmp := t.TempDir()
	env := map[string]string{"TMPDIR": tmp, "LIVECHAT_AUTH_DOMAINS": "chat.test"}
	getenv := func(k string) string { return env[k] }
	name := extauthd.ControlSocket("extauth-" + settingsKey("", getenv) + ".sock")
	for i, uid := range []int{109, 1000} {
		dir := filepath.Join(tmp, fmt.Sprintf("livechat-auth-%d", uid))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("unix", filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			defer ln.Close() // answered, by the wrong process
		} else {
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close() // left behind, answered by no one
		}
		for _, p := range []string{dir, filepath.Join(dir, name)} {
			if err := os.Lchown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := findControl(config.Config{}, "", getenv)
	if err == nil || !strings.Contains(err.Error(), "no automatic daemon runs") {
		t.Fatalf("findControl: %v, want no daemon found", err)
	}
}
