package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"livechat-auth/provider/token"
)

var _ token.UsedRecord = UsedTokens{}

// UsedTokens is the record of used tokens, shared through Redis. Each
// jti is a key that expires with its token.
type UsedTokens struct{ r *Redis }

// UsedTokens returns the record of used tokens kept in r.
func (r *Redis) UsedTokens() UsedTokens { return UsedTokens{r} }

// onceScript sets KEYS[1] unless it exists, expiring at ARGV[2] (unix
// ms), and answers 1 when it was new, 0 when it existed, and -1 when the
// thing was issued (ARGV[1], unix seconds) in or before the second the
// record was last whole (the note KEYS[2], "run_id:unix-ms"; written as
// ARGV[3] and Redis's time now when missing, as after a flush).
var onceScript = redis.NewScript(redisNow + `
local note = redis.call('GET', KEYS[2])
if not note then
  note = ARGV[3] .. ':' .. now_ms
  redis.call('SET', KEYS[2], note)
end
local since = tonumber(string.match(note, ':(%d+)$') or note) or 0
if tonumber(ARGV[1]) <= math.floor(since / 1000) then
  return -1
end
if redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[2]) then
  return 1
end
return 0
`)

// errLost is the answer for a thing issued before the record was last
// whole: whether it was used before cannot be told.
var errLost = errors.New("shared state (Redis) lost its data after this was issued; it cannot be told unused")

// once marks key used until exp, for a thing issued at issued.
func (r *Redis) once(ctx context.Context, key string, issued, exp, now time.Time) (bool, error) {
	if !r.up() {
		return false, r.errDown()
	}
	if !exp.After(now) {
		return false, nil // expired: nothing to keep, and nothing to accept
	}
	// Tokens and requests carry whole seconds, so the second of the loss
	// is refused whole: a token issued in it, before the loss, may have
	// been used (and its use lost) in the same second.
	n, err := onceScript.Run(ctx, r.client, []string{key, r.sinceKey()},
		issued.Unix(), exp.UnixMilli(), r.currentRunID()).Int()
	if err := r.result(ctx, err); err != nil {
		return false, fmt.Errorf("shared state (Redis): %w", err)
	}
	switch n {
	case 1:
		return true, nil
	case 0:
		return false, nil
	}
	return false, errLost
}

// Use marks id used until exp; token.ErrUsed when it already was.
func (u UsedTokens) Use(ctx context.Context, id string, issued, exp, now time.Time) error {
	sum := sha256.Sum256([]byte(id))
	first, err := u.r.once(ctx, u.r.prefix+"jti:"+hex.EncodeToString(sum[:]), issued, exp, now)
	switch {
	case err != nil:
		return err
	case !first:
		return token.ErrUsed
	}
	return nil
}
