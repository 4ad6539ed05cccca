package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
	"livechat-auth/provider/token"
	"livechat-auth/test/harness"
)

// redisURL is the Redis of this machine, which scripts/setup.sh starts.
const redisURL = "redis://127.0.0.1:6379/0"

// openTest connects to this machine's Redis under a prefix of its own,
// whose keys are deleted at the end, with a record whole for an hour (as
// in a running cluster: Open need not wait out a fresh note). Without
// Redis the test is skipped, or fails under CI.
func openTest(t *testing.T, log hclog.Logger) *Redis {
	t.Helper()
	return openPrefix(t, log, true)
}

// openPrefix is openTest; with old false the record is new, as under a
// new prefix or after a flush.
func openPrefix(t *testing.T, log hclog.Logger, old bool) *Redis {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
	harness.Need(t, "Redis on 127.0.0.1:6379", err == nil, fmt.Sprintf("scripts/setup.sh starts it (%v)", err))
	c.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "livechat-auth-test:" + hex.EncodeToString(b) + ":"
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if old {
		opts, _ := redis.ParseURL(redisURL) // a constant that parses
		c := redis.NewClient(opts)
		ctx := context.Background()
		info, err := c.Info(ctx, "server").Result()
		if err == nil {
			note := fmt.Sprintf("%s:%d", runID(info), time.Now().Add(-time.Hour).UnixMilli())
			err = c.Set(ctx, prefix+"since", note, 0).Err()
		}
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(Config{URL: redisURL, Prefix: prefix, Timeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := r.client.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			r.client.Del(ctx, iter.Val())
		}
		r.Close()
	})
	return r
}

func TestRedisFailureCounts(t *testing.T) {
	providertest.FailureCounts(t, func(t *testing.T) provider.FailureCounts {
		return openTest(t, nil).Failures(provider.NewMemory().Failures())
	})
}

func TestRedisUsedTokens(t *testing.T) {
	providertest.UsedRecords(t, func(t *testing.T) token.UsedRecord { return openTest(t, nil).UsedTokens() })
}

func TestRedisSeen(t *testing.T) {
	providertest.SeenRecords(t, func(t *testing.T) providertest.SeenRecord { return openTest(t, nil).Seen() })
}

// TestTwoSidecarsShareOneRecord: two connections under one prefix (two
// sidecars) see each other's uses and failures.
func TestTwoSidecarsShareOneRecord(t *testing.T) {
	a := openTest(t, nil)
	b, err := Open(Config{URL: redisURL, Prefix: a.prefix, Timeout: time.Second}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, now := context.Background(), time.Now()
	if err := a.UsedTokens().Use(ctx, "j", now, now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := b.UsedTokens().Use(ctx, "j", now, now.Add(time.Minute), now); !errors.Is(err, token.ErrUsed) {
		t.Errorf("the other sidecar accepted a used token: %v", err)
	}
	lim := provider.Limit{Max: 2, Window: time.Minute}
	fa, fb := a.Failures(provider.NewMemory().Failures()), b.Failures(provider.NewMemory().Failures())
	fa.Reserve(ctx, "alice", lim, now)
	fb.Reserve(ctx, "alice", lim, now)
	fa.Reserve(ctx, "alice", lim, now)
	for name, f := range map[string]Failures{"a": fa, "b": fb} {
		if _, blocked, _ := f.Reserve(ctx, "alice", lim, now); !blocked {
			t.Errorf("sidecar %s does not count the failures made at the other", name)
		}
	}
	if !fb.Clear(ctx, "alice", lim, now) {
		t.Error("Clear at b found nothing")
	}
	if id, blocked, _ := fa.Reserve(ctx, "alice", lim, now); blocked || id == "" {
		t.Error("a lock cleared at b is still in force at a")
	}
}

// TestLostDataRefusesOlderTokens: when Redis loses its data, a token
// issued before that cannot be told unused and is refused; one issued
// after is accepted.
func TestLostDataRefusesOlderTokens(t *testing.T) {
	r := openTest(t, nil)
	ctx := context.Background()
	issued := time.Now().Add(-10 * time.Second)
	if err := r.client.Del(ctx, r.sinceKey()).Err(); err != nil { // as a flush or a restart would
		t.Fatal(err)
	}
	now := time.Now()
	err := r.UsedTokens().Use(ctx, "old", issued, now.Add(time.Minute), now)
	if err == nil || errors.Is(err, token.ErrUsed) {
		t.Errorf("a token issued before the loss: %v; want refused as unknowable", err)
	}
	now = nextSecond()
	if err := r.UsedTokens().Use(ctx, "new", now, now.Add(time.Minute), now); err != nil {
		t.Errorf("a token issued after the loss: %v", err)
	}
}

// TestLostDataInTheSameSecond: a token and a signed request issued and
// used in the second in which Redis then loses its data are refused after
// the loss, as is what is issued in that second after it (tokens and
// requests carry whole seconds); what is issued in the next second is
// accepted.
func TestLostDataInTheSameSecond(t *testing.T) {
	r := openTest(t, nil)
	ctx := context.Background()
	mac := []byte("a verified mac")
	now := nextSecond() // a whole second for the steps below
	issued := now.Truncate(time.Second)
	if err := r.UsedTokens().Use(ctx, "used", issued, issued.Add(time.Minute), now); err != nil {
		t.Fatalf("first use of the token: %v", err)
	}
	if first, err := r.Seen().FirstUse(ctx, mac, issued.Unix(), now, time.Minute); err != nil || !first {
		t.Fatalf("first use of the request: %v, %v", first, err)
	}
	flushPrefix(t, r)
	now = time.Now()
	err := r.UsedTokens().Use(ctx, "used", issued, issued.Add(time.Minute), now)
	if err == nil || errors.Is(err, token.ErrUsed) {
		t.Errorf("the token used before the loss, replayed: %v; want refused as unknowable", err)
	}
	if first, err := r.Seen().FirstUse(ctx, mac, issued.Unix(), now, time.Minute); err == nil || first {
		t.Errorf("the request used before the loss, replayed: %v, %v; want refused as unknowable", first, err)
	}
	if err := r.UsedTokens().Use(ctx, "minted after the loss", issued, issued.Add(time.Minute), now); err == nil {
		t.Error("a token issued in the second of the loss was accepted")
	}
	if !now.Truncate(time.Second).Equal(issued) {
		t.Fatalf("the steps took over a second (%v to %v): the same second was not tried", issued, now)
	}
	now = nextSecond()
	if err := r.UsedTokens().Use(ctx, "next second", now.Truncate(time.Second), now.Add(time.Minute), now); err != nil {
		t.Errorf("a token issued in the second after the loss: %v", err)
	}
}

// TestLostDataNoteTakesRedisClock: the note of when the record became
// whole is dated by Redis, not by the sidecar that writes it: a sidecar
// whose clock runs an hour behind does not date the loss an hour early
// and accept a token used before it.
func TestLostDataNoteTakesRedisClock(t *testing.T) {
	r := openTest(t, nil)
	ctx := context.Background()
	issued := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	flushPrefix(t, r)
	behind := time.Now().Add(-time.Hour)
	err := r.UsedTokens().Use(ctx, "used before the loss", issued, issued.Add(5*time.Minute), behind)
	if err == nil || errors.Is(err, token.ErrUsed) {
		t.Errorf("a token issued before the loss, at a sidecar an hour behind: %v; want refused as unknowable", err)
	}
	redisNow, err := r.client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	note, _ := r.client.Get(ctx, r.sinceKey()).Result()
	ms, ok := noteMillis(note)
	if d := redisNow.Sub(time.UnixMilli(ms)); !ok || d < 0 || d > 5*time.Second {
		t.Errorf("the note %q is not dated by Redis's clock (now %v)", note, redisNow)
	}
}

// TestOpenWaitsOutAFreshNote: under a new prefix the record becomes whole
// as Open connects; Open returns once that second is over, so a token
// issued right after is accepted.
func TestOpenWaitsOutAFreshNote(t *testing.T) {
	start := time.Now()
	r := openPrefix(t, nil, false)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %v; it waits at most a second", d)
	}
	now := time.Now()
	if err := r.UsedTokens().Use(context.Background(), "right after", now.Truncate(time.Second), now.Add(time.Minute), now); err != nil {
		t.Errorf("a token issued right after Open: %v", err)
	}
}

// nextSecond waits until just after the next whole second and returns the
// time then.
func nextSecond() time.Time {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 5*time.Millisecond)))
	return time.Now()
}

// flushPrefix deletes every key of r's prefix, as FLUSHALL would.
func flushPrefix(t *testing.T, r *Redis) {
	t.Helper()
	ctx := context.Background()
	iter := r.client.Scan(ctx, 0, globEscape(r.prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := r.client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestUnreachableRedis: nothing answers at the URL. Tokens and session
// requests are refused at once, failure counts fall back to this
// process's, Err says why, and the outage is logged once.
func TestUnreachableRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var logs strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
	r, err := Open(Config{URL: "redis://" + addr, Prefix: "p:", Timeout: 200 * time.Millisecond, Probe: 50 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Err() == nil {
		t.Fatal("Err is nil with nothing listening")
	}
	ctx, now := context.Background(), time.Now()
	start := time.Now()
	if err := r.UsedTokens().Use(ctx, "j", now, now.Add(time.Minute), now); err == nil || errors.Is(err, token.ErrUsed) {
		t.Errorf("Use = %v; want refused as unreachable", err)
	}
	if first, err := r.Seen().FirstUse(ctx, []byte("m"), now.Unix(), now, time.Minute); err == nil || first {
		t.Errorf("FirstUse = %v, %v; want refused", first, err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("refusing while Redis is marked down took %v; it should not ask", d)
	}
	lim := provider.Limit{Max: 1, Window: time.Minute}
	f := r.Failures(provider.NewMemory().Failures())
	f.Reserve(ctx, "alice", lim, now)
	f.Reserve(ctx, "alice", lim, now)
	if _, blocked, _ := f.Reserve(ctx, "alice", lim, now); !blocked {
		t.Error("the per-process limit does not hold while Redis is down")
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Errorf("the outage is logged %d times; want once:\n%s", n, logs.String())
	}
}

// TestRecovery: a Redis that starts answering again is used again,
// without a restart, and its recovery is logged.
func TestRecovery(t *testing.T) {
	r := openTest(t, nil)
	var ups []bool
	r.onHealth = func(up bool) { ups = append(ups, up) }
	r.probe = 20 * time.Millisecond
	r.fault(errors.New("cut by the test"))
	if r.Err() == nil {
		t.Fatal("not marked down")
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Err() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r.Err() != nil {
		t.Fatal("never recovered")
	}
	now := time.Now()
	if err := r.UsedTokens().Use(context.Background(), "after", now, now.Add(time.Minute), now); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	if len(ups) != 2 || ups[0] || !ups[1] {
		t.Errorf("health changes %v; want [false true]", ups)
	}
}

// TestRestoredSnapshotRefusesOlderTokens: a Redis that comes back from an
// older snapshot (or a promoted replica) still has the note, but written
// by another Redis process: the next connection writes it afresh, so a
// token used after the snapshot, whose entry the snapshot lacks, is not
// good again.
func TestRestoredSnapshotRefusesOlderTokens(t *testing.T) {
	r := openTest(t, nil)
	ctx := context.Background()
	issued := time.Now()
	now := time.Now()
	if err := r.UsedTokens().Use(ctx, "used-after-the-snapshot", issued, now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	// The snapshot: the note of an earlier Redis process, and no entry.
	iter := r.client.Scan(ctx, 0, globEscape(r.prefix+"jti:")+"*", 100).Iterator()
	for iter.Next(ctx) {
		r.client.Del(ctx, iter.Val())
	}
	old := fmt.Sprintf("an-earlier-redis-process:%d", issued.Add(-time.Hour).UnixMilli())
	if err := r.client.Set(ctx, r.sinceKey(), old, 0).Err(); err != nil {
		t.Fatal(err)
	}
	other, err := Open(Config{URL: redisURL, Prefix: r.prefix, Timeout: time.Second}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now = time.Now()
	err = other.UsedTokens().Use(ctx, "used-after-the-snapshot", issued, now.Add(time.Minute), now)
	if err == nil || errors.Is(err, token.ErrUsed) {
		t.Errorf("a token used after the snapshot, replayed: %v; want refused as unknowable", err)
	}
	note, _ := r.client.Get(ctx, r.sinceKey()).Result()
	if note == old || !strings.Contains(note, ":") {
		t.Errorf("the note was not written afresh: %q", note)
	}
}
