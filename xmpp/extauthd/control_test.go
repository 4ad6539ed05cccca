package extauthd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// mapLocks keeps locks in a map.
type mapLocks struct {
	mu sync.Mutex
	m  map[string]Lock
}

func (f *mapLocks) Locks() []Lock {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Lock
	for _, l := range f.m {
		out = append(out, l)
	}
	return out
}

func (f *mapLocks) LockOf(user string) (Lock, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.m[user]
	return l, ok
}

func (f *mapLocks) Unlock(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[user]
	delete(f.m, user)
	return ok
}

// TestControlRoundTrip: the client lists, reads and clears locks over the
// control socket, which is made mode 0600.
func TestControlRoundTrip(t *testing.T) {
	until := time.Now().Add(time.Minute).Truncate(time.Second)
	locks := &mapLocks{m: map[string]Lock{"zoë": {Name: "zoë", Failures: 6, Guesses: 2, Sealed: true, Until: until}}}
	path := filepath.Join(t.TempDir(), "d.control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ServeControl(ctx, path, locks, hclog.NewNullLogger()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v, %v; want mode 0600", fi.Mode(), err)
	}
	c := NewControlClient(path)
	all, err := c.Locks(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "zoë" || all[0].Failures != 6 || !all[0].Until.Equal(until) {
		t.Fatalf("Locks = %+v, %v", all, err)
	}
	if l, found, err := c.LockOf(ctx, "zoë"); err != nil || !found || l.Failures != 6 || l.Guesses != 2 || !l.Sealed || !l.Until.Equal(until) {
		t.Fatalf("LockOf(zoë) = %+v, %v, %v", l, found, err)
	}
	if _, found, err := c.LockOf(ctx, "alice"); err != nil || found {
		t.Fatalf("LockOf(alice) = %v, %v; want not found", found, err)
	}
	if cleared, err := c.Unlock(ctx, "zoë"); err != nil || !cleared {
		t.Fatalf("Unlock(zoë) = %v, %v", cleared, err)
	}
	if cleared, err := c.Unlock(ctx, "zoë"); err != nil || cleared {
		t.Fatalf("a second Unlock(zoë) = %v, %v; want not found", cleared, err)
	}
	if all, err := c.Locks(ctx); err != nil || len(all) != 0 {
		t.Fatalf("Locks after clearing = %+v, %v", all, err)
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
	getenv := func(k string) string { return map[string]string{"TMPDIR": tmp}[k] }
	const name = "extauth-0123456789abcdef.control.sock"
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
	_, err := FindControl(name, getenv)
	if err == nil || !strings.Contains(err.Error(), "no automatic daemon runs") {
		t.Fatalf("FindControl: %v, want no daemon found", err)
	}
}

// TestLockWireFormat: the control socket's JSON keys are fixed, so that a
// locks command of another release still reads a running daemon's locks.
func TestLockWireFormat(t *testing.T) {
	l := Lock{Name: "zoë", Failures: 6, Guesses: 2, Sealed: true, Until: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	got, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"zoë","failures":6,"guesses":2,"sealed":true,"until":"2026-12-06T10:00:00Z"}`
	if string(got) != want {
		t.Errorf("a lock on the control socket:\n got %s\nwant %s", got, want)
	}
}
