package extauth

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Unready answers while a speaker cannot be built yet (its settings do
// not load, or are invalid): it refuses every request and, at most once a
// Retry, tries to build the speaker again; from the first success on, the
// built one answers. A process that exited instead would have ejabberd
// give up its whole auth pool until ejabberd restarts. It is safe for
// concurrent use.
type Unready struct {
	Build func() (Answerer, error) // builds the speaker; its error is logged, never a request
	Retry time.Duration            // between two builds; 0: 5 s
	Log   hclog.Logger
	Now   func() time.Time // nil: time.Now

	mu    sync.Mutex
	ready Answerer
	last  time.Time // the last build tried
	fails int
}

// Ready reports whether the speaker was built.
func (u *Unready) Ready() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ready != nil
}

// Answer asks the built speaker, or refuses while there is none.
func (u *Unready) Answer(ctx context.Context, f Frame) bool {
	if a := u.speaker(); a != nil {
		return a.Answer(ctx, f)
	}
	return false
}

// speaker returns the built speaker, building it when a Retry has passed.
func (u *Unready) speaker() Answerer {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ready != nil {
		return u.ready
	}
	now, retry := time.Now(), u.Retry
	if u.Now != nil {
		now = u.Now()
	}
	if retry <= 0 {
		retry = 5 * time.Second
	}
	if !u.last.IsZero() && now.Sub(u.last) < retry {
		return nil
	}
	u.last = now
	a, err := u.Build()
	if err != nil {
		if u.fails++; u.fails == 1 || u.fails%60 == 0 {
			u.Log.Error("cannot start: answering no to every request until it can", "error", err, "tries", u.fails)
		}
		return nil
	}
	u.Log.Info("started after its settings were fixed", "tries", u.fails)
	u.ready = a
	return a
}
