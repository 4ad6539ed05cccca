// Package state keeps what several livechat-auth sidecars must share, in
// Redis: the record of used tokens, the failure counts behind the
// failure limit, and the session API's record of used requests. With it,
// a token used through one sidecar is refused through every other, and a
// guesser gets the failure limit once for the cluster, not once per node.
//
// Redis is asked with short deadlines. When it does not answer, Redis is
// marked unreachable (logged once) and asked again in the background
// until it answers: meanwhile tokens and session requests are refused
// (fail closed), and failure counts fall back to those kept in this
// process, so passwords still sign in under a per-process limit.
//
// Each record also notes, under the key prefix, since when it is whole,
// and which Redis process (its run_id) it was written in. When Redis
// loses its data (a restart without persistence, a flush), or comes back
// from an older snapshot or as a promoted replica (a run_id the note does
// not name), the note is written afresh, at Redis's own time, and tokens
// and requests issued in its second or before are refused: no token used
// before the loss can be used again. Tokens and requests carry whole
// seconds, so one issued in the same second just after the loss is
// refused too; the widget then simply asks for another.
package state

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
)

// Config says how to reach Redis.
type Config struct {
	URL      string        // redis://[user:password@]host:port/db, rediss:// for TLS, or unix:///path
	Password string        // replaces the URL's password when set
	CAFile   string        // PEM roots for rediss://; empty: the system's
	Prefix   string        // every key starts with it; required
	Timeout  time.Duration // bound of connecting and of each command; required
	// Probe is how often an unreachable Redis is asked again (default 1s).
	Probe time.Duration
	// OnHealth is told each change of reachability; optional.
	OnHealth func(up bool)
}

// Redis is a connection to the shared state. It is safe for concurrent use.
type Redis struct {
	client   *redis.Client
	prefix   string
	log      hclog.Logger
	probe    time.Duration
	onHealth func(bool)

	runID   atomic.Value // string: the run_id of the Redis process last connected to
	down    atomic.Bool
	mu      sync.Mutex
	lastErr error
	probing bool
	closed  chan struct{}
	wg      sync.WaitGroup
}

// Open connects to Redis as cfg says. It does not wait for Redis to
// answer: an unreachable Redis at start is logged and then treated as
// any outage. When the record became whole less than a second ago (a new
// key prefix, or a Redis that just lost its data), Open waits out that
// second, so that what is issued once it returns is accepted. Errors are
// settings that cannot work (a bad URL, an unreadable CA file).
func Open(cfg Config, log hclog.Logger) (*Redis, error) {
	if cfg.Prefix == "" || cfg.Timeout <= 0 {
		return nil, errors.New("state: a key prefix and a positive timeout are required")
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("not a Redis URL (redis://host:6379/0, rediss:// for TLS): %w", err)
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if cfg.CAFile != "" {
		if opts.TLSConfig == nil {
			return nil, errors.New("a CA file is given but the URL is not rediss://")
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", cfg.CAFile)
		}
		opts.TLSConfig.RootCAs = roots
	}
	if opts.TLSConfig != nil && opts.TLSConfig.MinVersion == 0 {
		opts.TLSConfig.MinVersion = tls.VersionTLS12
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1 // no retry: a command waits at most Timeout, then the process's own counts answer
	opts.PoolTimeout = cfg.Timeout
	opts.DisableIdentity = true // no CLIENT SETINFO: older servers refuse it
	r := &Redis{prefix: cfg.Prefix, log: log, probe: cfg.Probe, onHealth: cfg.OnHealth, closed: make(chan struct{})}
	if r.probe <= 0 {
		r.probe = time.Second
	}
	opts.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		// Another Redis process than the note names (a restart, a restored
		// snapshot, a failover) may have lost uses: whole from now on.
		id := "unknown"
		if info, err := cn.Info(ctx, "server").Result(); err == nil {
			id = runID(info)
		}
		r.runID.Store(id)
		return epochScript.Run(ctx, cn, []string{r.sinceKey()}, id).Err()
	}
	quietClientLog.Do(func() { redis.SetLogger(discardLog{}) }) // its reconnection noise; outages are logged here, once
	r.client = redis.NewClient(opts)
	if r.onHealth != nil {
		r.onHealth(true)
	}
	// Twice the dial's bound, so that a failed dial says why (refused, no
	// such host, a TLS handshake) rather than "deadline exceeded".
	ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.Timeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.fault(err)
	} else {
		r.checkEviction(ctx)
		r.settle(ctx)
	}
	return r, nil
}

// Close stops the background probe and closes the connections.
func (r *Redis) Close() error {
	close(r.closed)
	r.wg.Wait()
	return r.client.Close()
}

// Check asks Redis now, unless it is already marked unreachable, and
// returns Err: a readiness probe notices an outage before a sign-in does.
func (r *Redis) Check(ctx context.Context) error {
	if r.up() {
		r.result(ctx, r.client.Ping(ctx).Err())
	}
	return r.Err()
}

// Err is nil while Redis answers, and otherwise says why it does not.
func (r *Redis) Err() error {
	if !r.down.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// up reports whether Redis is to be asked.
func (r *Redis) up() bool { return !r.down.Load() }

// result sorts the error of a command: nil and a caller that gave up are
// not Redis's fault; anything else marks it unreachable.
func (r *Redis) result(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil {
		r.fault(err)
	}
	return err
}

// fault marks Redis unreachable, once per outage, and asks it again in
// the background until it answers.
func (r *Redis) fault(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = fmt.Errorf("shared state (Redis) unreachable: %w", err)
	if r.probing {
		return
	}
	r.probing = true
	r.down.Store(true)
	r.log.Error("shared state (Redis) unreachable: tokens and session requests are refused, failure counts are this process's own until it answers", "error", err)
	if r.onHealth != nil {
		r.onHealth(false)
	}
	r.wg.Add(1)
	go r.reprobe()
}

func (r *Redis) reprobe() {
	defer r.wg.Done()
	tick := time.NewTicker(r.probe)
	defer tick.Stop()
	since := time.Now()
	for {
		select {
		case <-r.closed:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(r.probe, 2*r.client.Options().DialTimeout))
		err := r.client.Ping(ctx).Err()
		cancel()
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.probing, r.lastErr = false, nil
		r.down.Store(false)
		r.mu.Unlock()
		r.log.Info("shared state (Redis) answers again", "outage", time.Since(since).Round(time.Millisecond))
		if r.onHealth != nil {
			r.onHealth(true)
		}
		return
	}
}

// checkEviction warns when Redis may evict keys: an evicted used-token
// entry would make its token good again. A Redis that does not let us
// read its settings is not asked again.
func (r *Redis) checkEviction(ctx context.Context) {
	policy, err := r.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return
	}
	if p := policy["maxmemory-policy"]; p != "" && p != "noeviction" {
		r.log.Warn("Redis may evict keys under memory pressure (maxmemory-policy is not noeviction): an evicted entry of a used token makes it good again", "maxmemory-policy", p)
	}
}

// quietClientLog silences go-redis's own logger (a global), which would
// print a line to stderr at every failed dial.
var quietClientLog sync.Once

type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}

func (r *Redis) sinceKey() string { return r.prefix + "since" }

// epochScript writes the note "run_id:unix-ms" (ARGV[1], Redis's own
// clock) unless it names this run_id.
var epochScript = redis.NewScript(redisNow + `
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^([^:]*):') == ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. now_ms)
return 1
`)

// redisNow starts a script that writes the note: it sets now_ms to Redis's
// own clock in unix milliseconds (a string). The note's time is Redis's,
// not the writing sidecar's: the sidecars' clocks differ, and one running
// behind would date the loss too early and let through what was used
// before it. TIME before a write needs effects replication, the default
// since Redis 5 (replicate_commands turns it on in Redis 3.2 and 4).
const redisNow = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now_ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
`

// settle waits, at most a second, until the second of the note is over
// by Redis's clock: what is issued in that second is refused, and a
// sidecar that starts as the record becomes whole would otherwise refuse
// the tokens it mints itself in its first moments.
func (r *Redis) settle(ctx context.Context) {
	var now *redis.TimeCmd
	var note *redis.StringCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		now, note = p.Time(ctx), p.Get(ctx, r.sinceKey())
		return nil
	})
	if err != nil {
		return // no note (a later use writes it), or no answer: nothing to wait for
	}
	since, ok := noteMillis(note.Val())
	if !ok {
		return
	}
	over := time.UnixMilli(since).Truncate(time.Second).Add(time.Second)
	if wait := over.Sub(now.Val()); wait > 0 && wait <= time.Second {
		time.Sleep(wait)
	}
}

// noteMillis reads the time of the note "run_id:unix-ms".
func noteMillis(note string) (int64, bool) {
	i := strings.LastIndexByte(note, ':')
	ms, err := strconv.ParseInt(note[i+1:], 10, 64)
	return ms, err == nil
}

// runID reads run_id from the text of INFO server.
func runID(info string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok && v != "" {
			return v
		}
	}
	return "unknown"
}

// currentRunID is the run_id of the Redis process last connected to.
func (r *Redis) currentRunID() string {
	if id, ok := r.runID.Load().(string); ok {
		return id
	}
	return "unknown"
}

// errDown is the answer while Redis is marked unreachable.
func (r *Redis) errDown() error {
	if err := r.Err(); err != nil {
		return err
	}
	return errors.New("shared state (Redis) unreachable")
}
