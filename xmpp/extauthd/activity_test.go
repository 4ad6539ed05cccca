package extauthd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestActivityListsRelays: a connected relay is listed with its process
// id and since when, and no longer once it goes away.
func TestActivityListsRelays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.sock")
	ln, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var act Activity
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ServeRelays(ctx, ln, server(t, fakeAuth{}, hclog.NewNullLogger()), &act)
	}()
	defer func() { cancel(); <-done }()
	before := time.Now()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var got []Attached
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = act.Relays(); len(got) == 1 {
			break
		}
	}
	if len(got) != 1 || got[0].PID != os.Getpid() || got[0].Since.Before(before.Add(-time.Second)) {
		t.Fatalf("relays = %+v, want this process since now", got)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && len(act.Relays()) > 0; {
		time.Sleep(10 * time.Millisecond)
	}
	if got := act.Relays(); len(got) != 0 {
		t.Errorf("relays after it left: %+v", got)
	}
}
