package status

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/xmpp/rooms"
)

// Input is what a Snapshot is read from: the running settings, the
// build, what the program has seen so far, and funcs that ask its
// dependencies. Snapshot calls the funcs with a context of at most 3 s.
type Input struct {
	Config                                  config.Config // the running settings
	Version, Revision, BuildTime, GoVersion string
	Started                                 time.Time
	// PingWiki asks the wiki database to answer.
	PingWiki func(ctx context.Context) error
	// SharedState says why the shared Redis cannot be used (nil: it can);
	// asked only when state.redis_url is set.
	SharedState func(ctx context.Context) error
	Locks       []provider.Lock
	LastSync    *SyncRun // the last run of the periodic room sync; nil: none yet
	// Migration counts the accounts with and without livechat_id.
	Migration func(ctx context.Context) *Migration
	Ended     map[string]int // reason → sessions ended since start
	LastGuard *time.Time     // the last check of the online users; nil: none yet
	// Process names this process on the page: "serve" or "automatic
	// extauth daemon".
	Process string
	// Reload is the settings' generation and the last reload's result.
	Reload *Reload
	// Attached are the chat server's processes relaying here now.
	Attached []Attached
}

// SyncRun is one run of the room sync and when it ended.
type SyncRun struct {
	At      time.Time
	Summary rooms.Summary
	Err     error
}

// Snapshot reads what the status page shows now: it asks the wiki
// database, the chat server's client port (when the settings name one,
// see config.Config.ChatAddress) and the shared Redis (when set), and
// counts the migration.
func (in Input) Snapshot(ctx context.Context) Snapshot {
	cfg := in.Config
	s := Snapshot{Process: in.Process, Version: in.Version, Revision: in.Revision, BuildTime: in.BuildTime, GoVersion: in.GoVersion, Started: in.Started,
		Reload: in.Reload, Attached: in.Attached}
	if cfg.HTTPAuth.Enabled() {
		s.HTTPAuth = &HTTPAuth{}
	}

	s.Features = Features(cfg)

	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := in.PingWiki(ctx); err != nil {
		s.Health = append(s.Health, Check{Name: "wiki database", Detail: config.OneLine(err)})
	} else {
		s.Health = append(s.Health, Check{Name: "wiki database", OK: true, Detail: "answered in " + time.Since(t0).Round(10*time.Microsecond).String()})
	}
	dial := func(name, addr string) {
		t0 := time.Now()
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			s.Health = append(s.Health, Check{Name: name + " " + addr, Detail: config.OneLine(err)})
			return
		}
		c.Close()
		s.Health = append(s.Health, Check{Name: name + " " + addr, OK: true, Detail: "accepted a connection in " + time.Since(t0).Round(10*time.Microsecond).String()})
	}
	if addr := cfg.ChatAddress(); addr != "" {
		dial("chat server client port", addr)
	}
	if addr := cfg.ProxyAddress(); addr != "" {
		dial("chat proxy upstream", addr)
	}
	if cfg.State.Enabled() {
		if err := in.SharedState(ctx); err != nil {
			s.Health = append(s.Health, Check{Name: "shared state (Redis)", Detail: config.OneLine(err) + ": tokens are refused"})
		} else {
			s.Health = append(s.Health, Check{Name: "shared state (Redis)", OK: true, Detail: redisHost(cfg)})
		}
	}
	s.Locks = in.Locks
	if len(cfg.Rooms.Rules) > 0 && cfg.Rooms.Interval > 0 {
		rs := &RoomSync{Interval: cfg.Rooms.Interval, DryRunAvailable: true}
		if last := in.LastSync; last != nil {
			rs.At, rs.Rooms, rs.Changed = last.At, len(last.Summary.Rooms), last.Summary.Changed()
			for _, r := range last.Summary.Failed() {
				rs.Failed = append(rs.Failed, r.Room.String())
			}
			if last.Err != nil {
				rs.Err = config.OneLine(last.Err)
			}
		}
		s.RoomSync = rs
	}
	s.Migration = in.Migration(ctx)
	if cfg.EndSessions.Enabled {
		es := &EndSessions{Bound: cfg.EndSessions.Bound, Ended: in.Ended}
		if in.LastGuard != nil {
			es.LastCheck = *in.LastGuard
		}
		s.EndSessions = es
	}
	return s
}

// DryRunLines is what a dry run of the room sync would change, one line
// each, as the page lists it.
func DryRunLines(sum rooms.Summary) []string {
	var out []string
	for _, r := range sum.Rooms {
		if r.Err != nil {
			out = append(out, fmt.Sprintf("%s: FAILED: %v", r.Room, r.Err))
		}
		if r.Created {
			out = append(out, fmt.Sprintf("%s: would be created", r.Room))
		}
		for _, c := range r.Changes {
			out = append(out, fmt.Sprintf("%s: %s", r.Room, c))
		}
	}
	return out
}

// Features lists the edges and features the settings turn on or off.
func Features(cfg config.Config) []Feature {
	var out []Feature
	on := func(name string, yes bool, detail string) {
		out = append(out, Feature{Name: name, On: yes, Detail: detail})
	}
	on("ejabberd extauth socket", cfg.Extauth.DaemonSocket != "" && cfg.Extauth.DaemonSocket != config.DaemonOff, cfg.Extauth.DaemonSocket)
	on("HTTP auth contract (Prosody, MongooseIM)", cfg.HTTPAuth.Enabled(), cfg.HTTPAuth.Path)
	on("session API (the widget)", cfg.Session.Key != "", "/v1/sessions")
	on("migration API (the migration page)", cfg.Migration.Enabled, "/v1/migration/, old accounts: "+cfg.Migration.OldAccount)
	algs := "no key"
	if cfg.Token.Enabled() {
		algs = strings.Join(tokenAlgorithms(cfg.Token), ", ")
	}
	on("tokens", cfg.Token.Enabled(), algs)
	on("chat proxy", cfg.Proxy.WebSocketUpstream != "" || cfg.Proxy.BOSHUpstream != "", strings.Trim(cfg.Proxy.WebSocketUpstream+" "+cfg.Proxy.BOSHUpstream, " "))
	on("room sync", len(cfg.Rooms.Rules) > 0 && cfg.Rooms.Interval > 0, fmt.Sprintf("%d rules, every %s", len(cfg.Rooms.Rules), cfg.Rooms.Interval))
	on("ending sessions of refused accounts", cfg.EndSessions.Enabled, "within "+cfg.EndSessions.Bound.String())
	on("shared state (Redis)", cfg.State.Enabled(), redisHost(cfg))
	on("outage grace", cfg.Auth.OutageGrace > 0, cfg.Auth.OutageGrace.String())
	on("failure limit", cfg.Auth.MaxFailures > 0, fmt.Sprintf("%d within %s", cfg.Auth.MaxFailures, cfg.Auth.FailureWindow))

	return out
}

// FeaturesOn names the features on, for serve's start-up and reload log
// lines.
func FeaturesOn(cfg config.Config) []string {
	var on []string
	for _, f := range Features(cfg) {
		if f.On {
			on = append(on, f.Name)
		}
	}
	return on
}

// tokenAlgorithms lists the algorithms the token settings accept.
func tokenAlgorithms(t config.Token) []string {
	if len(t.Algorithms) > 0 {
		return t.Algorithms
	}
	var out []string
	add := func(a string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if t.SigningKeyFile != "" {
		add("signing key")
	}
	if t.Secret != "" || t.PreviousSecret != "" {
		add("HS256")
	}
	if len(t.PublicKeyFiles) > 0 {
		add("public keys")
	}
	if t.JWKSURL != "" {
		add("JWKS")
	}
	return out
}

// redisHost is the shared Redis's address, without its password.
func redisHost(cfg config.Config) string {
	u, err := url.Parse(string(cfg.State.RedisURL))
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}
