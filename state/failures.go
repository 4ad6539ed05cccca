package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"livechat-auth/provider"
)

var _ provider.FailureCounts = Failures{}

// Failures is the failure counts shared through Redis: per account, a
// sorted set of failure times and one of the guesses refused while it was
// blocked, scored in microseconds and expiring with the window. Every
// failure and guess is also kept in this process's own counts, which
// answer while Redis does not.
type Failures struct {
	r     *Redis
	local provider.FailureCounts
}

// Failures returns the failure counts shared in r, falling back to local.
func (r *Redis) Failures(local provider.FailureCounts) Failures { return Failures{r: r, local: local} }

func micros(t time.Time) int64 { return t.UnixMicro() }

// cut is the score at or below which a time has left the window at now.
func cut(lim provider.Limit, now time.Time) int64 { return micros(now.Add(-lim.Window)) }

func (f Failures) keys(name string) []string {
	return []string{f.r.prefix + "fail:" + name, f.r.prefix + "guess:" + name}
}

// countScript is Reserve (ARGV[6] "1") and Guess ("0") in one step with
// the look at the counts: with more than max failures in the window it
// counts a guess (member ARGV[4] at ARGV[3]) unless max are kept, else,
// for Reserve, a failure. It answers 0 (a failure counted), 1 (a guess
// counted), 2 (sealed: nothing counted) or 3 (not blocked: nothing
// counted).
var countScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[1]) > max then
  if redis.call('ZCARD', KEYS[2]) >= max then
    return 2
  end
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  return 1
end
if ARGV[6] ~= '1' then
  return 3
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 0
`)

// guessMark starts the Redis part of the id of a guess.
const guessMark = "g:"

// Reserve counts the failure or guess in Redis, in one step with the
// check, and in this process's counts too (which alone answer while
// Redis does not). The id names both.
func (f Failures) Reserve(ctx context.Context, name string, lim provider.Limit, now time.Time) (id string, blocked, sealed bool) {
	return f.count(ctx, name, lim, now, true)
}

// Guess is Reserve for a blocked account, and asks nothing more of an
// account that is not: one script either way.
func (f Failures) Guess(ctx context.Context, name string, lim provider.Limit, now time.Time) (id string, blocked, sealed bool) {
	return f.count(ctx, name, lim, now, false)
}

func (f Failures) count(ctx context.Context, name string, lim provider.Limit, now time.Time, failure bool) (id string, blocked, sealed bool) {
	var localID string
	var localBlocked, localSealed bool
	if failure {
		localID, localBlocked, localSealed = f.local.Reserve(ctx, name, lim, now)
	} else {
		localID, localBlocked, localSealed = f.local.Guess(ctx, name, lim, now)
	}
	if f.r.up() {
		// Counted whether or not the caller still waits: a request past
		// its deadline goes on to check the password, and must not find
		// only this process's counts (as if Redis were down). The client's
		// own Timeout bounds the wait.
		ctx := context.WithoutCancel(ctx)
		m, flag := member(now), "0"
		if failure {
			flag = "1"
		}
		n, err := countScript.Run(ctx, f.r.client, f.keys(name), cut(lim, now), lim.Max, micros(now), m, ttl(lim), flag).Int()
		if f.r.result(ctx, err) == nil {
			// Here mirrors Redis: what it counted stays, paired with what
			// Redis counted when it is of the same kind.
			if localID != "" && (n > 1 || (n == 1) != localBlocked) {
				f.local.Release(ctx, name, localID)
				localID = ""
			}
			switch n {
			case 0:
				return m + "|" + localID, false, false
			case 1:
				return guessMark + m + "|" + localID, true, false
			case 2:
				return "", true, true
			default:
				return "", false, false
			}
		}
	}
	if localID == "" {
		return "", localBlocked, localSealed // nothing counted: nothing to take back
	}
	return "|" + localID, localBlocked, localSealed
}

// Release takes the failure or guess back in Redis and here.
func (f Failures) Release(ctx context.Context, name, id string) {
	shared, localID, _ := strings.Cut(id, "|")
	if localID != "" {
		f.local.Release(ctx, name, localID)
	}
	if shared == "" || !f.r.up() {
		return
	}
	ctx = context.WithoutCancel(ctx) // taken back even for a caller past its deadline
	key := f.keys(name)[0]
	if m, guess := strings.CutPrefix(shared, guessMark); guess {
		key, shared = f.keys(name)[1], m
	}
	f.r.result(ctx, f.r.client.ZRem(ctx, key, shared).Err())
}

// lockScript prunes both sets and answers the number of guesses, then
// the failure times, oldest first.
var lockScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local out = {tostring(redis.call('ZCARD', KEYS[2]))}
local times = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #times, 2 do
  out[#out + 1] = times[i]
end
return out
`)

// LockOf answers from Redis, or from this process's counts while Redis
// does not answer.
func (f Failures) LockOf(ctx context.Context, name string, lim provider.Limit, now time.Time) (provider.Lock, bool) {
	if f.r.up() {
		if lk, ok, err := f.lockOf(ctx, name, lim, now); err == nil {
			return lk, ok
		}
	}
	return f.local.LockOf(ctx, name, lim, now)
}

func (f Failures) lockOf(ctx context.Context, name string, lim provider.Limit, now time.Time) (provider.Lock, bool, error) {
	vals, err := lockScript.Run(ctx, f.r.client, f.keys(name), cut(lim, now)).StringSlice()
	if err := f.r.result(ctx, err); err != nil {
		return provider.Lock{}, false, err
	}
	if len(vals) == 0 {
		return provider.Lock{}, false, nil
	}
	guesses, _ := strconv.Atoi(vals[0])
	var recent []time.Time
	for _, v := range vals[1:] {
		us, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		recent = append(recent, time.UnixMicro(int64(us)))
	}
	lk, ok := provider.LockFrom(name, recent, guesses, lim)
	return lk, ok, nil
}

// Locks lists the locks kept in Redis, or this process's while Redis does
// not answer.
func (f Failures) Locks(ctx context.Context, lim provider.Limit, now time.Time) []provider.Lock {
	if f.r.up() {
		if locks, err := f.locks(ctx, lim, now); err == nil {
			return locks
		}
	}
	return f.local.Locks(ctx, lim, now)
}

func (f Failures) locks(ctx context.Context, lim provider.Limit, now time.Time) ([]provider.Lock, error) {
	start := f.r.prefix + "fail:"
	var out []provider.Lock
	iter := f.r.client.Scan(ctx, 0, globEscape(start)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		lk, ok, err := f.lockOf(ctx, strings.TrimPrefix(iter.Val(), start), lim, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, lk)
		}
	}
	return out, f.r.result(ctx, iter.Err())
}

// clearScript answers how many failures were in the window and deletes
// both sets.
var clearScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`)

// Clear forgets the account's failures here and in Redis. While Redis
// does not answer, the other sidecars keep counting them.
func (f Failures) Clear(ctx context.Context, name string, lim provider.Limit, now time.Time) bool {
	had := f.local.Clear(ctx, name, lim, now)
	if !f.r.up() {
		f.r.log.Warn("lock cleared in this process only: the shared state (Redis) does not answer", "name", name)
		return had
	}
	n, err := clearScript.Run(ctx, f.r.client, f.keys(name), cut(lim, now)).Int()
	if f.r.result(ctx, err) != nil {
		f.r.log.Warn("lock cleared in this process only: the shared state (Redis) does not answer", "name", name)
		return had
	}
	return had || n > 0
}

// member is a unique sorted-set member for a time.
func member(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail
	return strconv.FormatInt(now.UnixNano(), 36) + hex.EncodeToString(b[:])
}

// ttl is how long a set outlives its newest entry: the window, and a
// second more for clocks a little apart.
func ttl(lim provider.Limit) int64 { return (lim.Window + time.Second).Milliseconds() }

// globEscape escapes the glob characters of SCAN's MATCH.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
