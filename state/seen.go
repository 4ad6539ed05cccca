package state

import (
	"context"
	"encoding/hex"
	"time"

	"livechat-auth/provider/session"
)

var _ session.SeenRecord = Seen{}

// Seen is the session API's record of used requests, shared through
// Redis: a signed request captured on its way to one sidecar cannot mint
// a token at another.
type Seen struct{ r *Redis }

// Seen returns the record of used session requests kept in r.
func (r *Redis) Seen() Seen { return Seen{r} }

// FirstUse records the verified MAC of a request stamped ts. An entry is
// kept for twice the skew and a minute more past ts, so that a reload
// that widens session.max_skew up to that does not make a forgotten
// request good again.
func (s Seen) FirstUse(ctx context.Context, mac []byte, ts int64, now time.Time, maxSkew time.Duration) (bool, error) {
	issued := time.Unix(ts, 0)
	return s.r.once(ctx, s.r.prefix+"seen:"+hex.EncodeToString(mac), issued, issued.Add(2*maxSkew+time.Minute), now)
}
