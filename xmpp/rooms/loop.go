package rooms

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/xmpp/account"
)

// Sync signs the sync account in with login, runs once (see Run) and
// signs out. Signing in has account.SignInTimeout; the summary counts the
// requests sent.
func (s *Syncer) Sync(ctx context.Context, login account.Login, dryRun bool) (Summary, error) {
	client, err := SignIn(ctx, login)
	if err != nil {
		return Summary{}, err
	}
	defer client.Close()
	sum, err := s.Run(ctx, client, dryRun)
	sum.Reads, sum.Writes = client.Requests()
	return sum, err
}

// Job is what a periodic run needs, asked for before each run: the
// syncer of the running settings (nil: no rules), how the sync account
// signs in, and how often to run (0: never).
type Job struct {
	Syncer   *Syncer
	Login    account.Login
	Interval time.Duration
}

// firstBackoff is Loop's wait after a first failed run; it doubles after
// each further one, up to the job's interval.
const firstBackoff = 5 * time.Second

// Loop runs the job every Interval (±10% jitter) until ctx ends, the
// first run at once, and sooner again after a failed run (backing off
// from 5 s, doubling up to Interval). It asks job for the job before each
// run, so new settings take effect at the next one; without a syncer or
// an interval it looks again a minute later. Each run signs in afresh, so
// a lost connection is simply made again. done, when set, is told the
// outcome of each run before it is logged.
func Loop(ctx context.Context, job func() Job, log hclog.Logger, done func(Summary, error)) {
	wait := time.Duration(0) // the first run starts at once
	backoff := firstBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		j := job()
		interval := j.Interval
		if j.Syncer == nil || interval <= 0 {
			wait = time.Minute // look again after a possible reload
			continue
		}
		sum, err := j.Syncer.Sync(ctx, j.Login, false)
		if done != nil {
			done(sum, err)
		}
		wait = interval + time.Duration((rand.Float64()*0.2-0.1)*float64(interval))
		switch {
		case err != nil:
			log.Warn("room sync failed; retrying", "error", err, "in", backoff)
			wait, backoff = backoff, min(2*backoff, interval)
		case len(sum.Failed()) > 0:
			log.Warn("room sync done with failures", "rooms", len(sum.Rooms), "failed", len(sum.Failed()), "changed", sum.Changed())
			wait, backoff = min(wait, backoff), min(2*backoff, interval)
		default:
			log.Info("room sync done", "rooms", len(sum.Rooms), "changed", sum.Changed(), "writes", sum.Writes, "duration", sum.Elapsed)
			backoff = firstBackoff
		}
	}
}
