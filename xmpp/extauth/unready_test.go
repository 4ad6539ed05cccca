package extauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

type yes struct{}

func (yes) Answer(context.Context, Frame) bool { return true }

// TestUnready: while the speaker cannot be built every request is
// refused, a build is tried at most once a Retry, and the first build
// that works answers from then on.
func TestUnready(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	builds, broken := 0, true
	u := &Unready{Retry: time.Second, Log: hclog.NewNullLogger(), Now: func() time.Time { return now },
		Build: func() (Answerer, error) {
			builds++
			if broken {
				return nil, errors.New("token: [unclosed")
			}
			return yes{}, nil
		}}
	ctx := context.Background()
	for range 3 {
		if u.Answer(ctx, nil) {
			t.Fatal("answered yes without a speaker")
		}
	}
	if builds != 1 {
		t.Errorf("%d builds within one Retry, want 1", builds)
	}
	broken = false
	if u.Answer(ctx, nil) {
		t.Error("built again before the Retry passed")
	}
	now = now.Add(time.Second)
	first, second := u.Answer(ctx, nil), u.Answer(ctx, nil)
	if !first || !second || builds != 2 {
		t.Errorf("after the settings were fixed: %v, %v, builds %d", first, second, builds)
	}
}
