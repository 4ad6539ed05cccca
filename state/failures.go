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

// reserveScript counts a failure (member ARGV[4] at ARGV[3]) unless more
// than max are in the window: then it answers {0, guesses}; else {1, 0}.
var reserveScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[1]) > max then
  return {0, redis.call('ZCARD', KEYS[2])}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, 0}
`)

// Reserve counts the failure in Redis, atomically with the check, and in
// this process's counts too (which alone answer while Redis does not).
// The id names both.
func (f Failures) Reserve(ctx context.Context, name string, lim provider.Limit, now time.Time) (id string, blocked, sealed bool) {
	localID, localBlocked, localSealed := f.local.Reserve(ctx, name, lim, now)
	if f.r.up() {
		m := member(now)
		n, err := reserveScript.Run(ctx, f.r.client, f.keys(name), cut(lim, now), lim.Max, micros(now), m, ttl(lim)).Int64Slice()
		if f.r.result(ctx, err) == nil && len(n) == 2 {
			if n[0] == 0 {
				if localID != "" {
					f.local.Release(ctx, name, localID)
				}
				return "", true, n[1] >= int64(lim.Max)
			}
			return m + "|" + localID, false, false
		}
	}
	if localID == "" {
		return "", localBlocked, localSealed // nothing counted: nothing to take back
	}
	return "|" + localID, localBlocked, localSealed
}

// Sealed asks Redis, or this process's counts while Redis does not
// answer. It reads and writes nothing else: one ZCOUNT of the failures
// in the window, and of the guesses only when those block.
func (f Failures) Sealed(ctx context.Context, name string, lim provider.Limit, now time.Time) bool {
	if f.r.up() {
		if sealed, err := f.sealed(ctx, name, lim, now); err == nil {
			return sealed
		}
	}
	return f.local.Sealed(ctx, name, lim, now)
}

func (f Failures) sealed(ctx context.Context, name string, lim provider.Limit, now time.Time) (bool, error) {
	keys := f.keys(name)
	inWindow := "(" + strconv.FormatInt(cut(lim, now), 10) // above the cut, as the scripts keep
	n, err := f.r.client.ZCount(ctx, keys[0], inWindow, "+inf").Result()
	if err := f.r.result(ctx, err); err != nil || n <= int64(lim.Max) {
		return false, err
	}
	g, err := f.r.client.ZCount(ctx, keys[1], inWindow, "+inf").Result()
	if err := f.r.result(ctx, err); err != nil {
		return false, err
	}
	return g >= int64(lim.Max), nil
}

// Release takes the failure back in Redis and here.
func (f Failures) Release(ctx context.Context, name, id string) {
	shared, localID, _ := strings.Cut(id, "|")
	if localID != "" {
		f.local.Release(ctx, name, localID)
	}
	if shared != "" && f.r.up() {
		f.r.result(ctx, f.r.client.ZRem(ctx, f.keys(name)[0], shared).Err())
	}
}

// guessScript adds a guess while the account is blocked and fewer than
// max guesses are kept.
var guessScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[1]) > max and redis.call('ZCARD', KEYS[2]) < max then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1
`)

// Guessed records the guess here and in Redis.
func (f Failures) Guessed(ctx context.Context, name string, lim provider.Limit, now time.Time) {
	f.local.Guessed(ctx, name, lim, now)
	if f.r.up() {
		err := guessScript.Run(ctx, f.r.client, f.keys(name), cut(lim, now), lim.Max, micros(now), member(now), ttl(lim)).Err()
		f.r.result(ctx, err)
	}
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
