package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/status"
)

// serveStatus serves the status page on status.listen until ctx ends.
func serveStatus(ctx context.Context, cfg config.Config, d *daemon, started time.Time, log hclog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Status.Listen)
	if err != nil {
		return err
	}
	var secret []byte
	if cfg.Status.Secret != "" {
		secret = []byte(cfg.Status.Secret)
	}
	h := status.New(status.Config{
		Secret:    secret,
		Snapshot:  func(ctx context.Context) status.Snapshot { return statusSnapshot(ctx, d, started) },
		ClearLock: d.unlock,
		IsAccount: func(ctx context.Context, name string) (bool, error) {
			return d.running.Load().auth.UserExists(ctx, name, "")
		},
		DryRunRooms: func(ctx context.Context) ([]string, error) {
			cfg := d.running.Load().cfg
			if len(cfg.Rooms.Rules) == 0 {
				return nil, errors.New("no rooms.rules")
			}
			sum, err := syncRun(ctx, cfg, d.store, log, true)
			if err != nil {
				return nil, err
			}
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
			return out, nil
		},
		Recorder: &d.m.recent,
		Log:      log,
		Hosts:    []string{cfg.Status.Listen, ln.Addr().String()},
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut) // the page's requests are short; a cut one is reloaded
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status page stopped", "error", err)
		}
	}()
	auth := "loopback, no secret"
	if secret != nil {
		auth = "basic authentication with status.secret"
	}
	log.Info("status page", "addr", ln.Addr().String(), "access", auth)
	return nil
}

// statusSnapshot reads what the status page shows now.
func statusSnapshot(ctx context.Context, d *daemon, started time.Time) status.Snapshot {
	gen := d.running.Load()
	cfg := gen.cfg
	b := readBuild()
	s := status.Snapshot{Version: b.version, Revision: b.revision, BuildTime: b.time, GoVersion: b.goVersion, Started: started}

	s.Features = features(cfg)

	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := d.store.Ping(ctx); err != nil {
		s.Health = append(s.Health, status.Check{Name: "wiki database", Detail: oneLine(err)})
	} else {
		s.Health = append(s.Health, status.Check{Name: "wiki database", OK: true, Detail: "answered in " + time.Since(t0).Round(10*time.Microsecond).String()})
	}
	if addr := chatAddr(cfg); addr != "" {
		t0 := time.Now()
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			s.Health = append(s.Health, status.Check{Name: "chat server " + addr, Detail: oneLine(err)})
		} else {
			c.Close()
			s.Health = append(s.Health, status.Check{Name: "chat server " + addr, OK: true, Detail: "accepted a connection in " + time.Since(t0).Round(10*time.Microsecond).String()})
		}
	}
	if cfg.State.Enabled() {
		if err := d.state.degraded(ctx); err != nil {
			s.Health = append(s.Health, status.Check{Name: "shared state (Redis)", Detail: oneLine(err) + ": tokens are refused"})
		} else {
			s.Health = append(s.Health, status.Check{Name: "shared state (Redis)", OK: true, Detail: redisHost(cfg)})
		}
	}
	s.Locks = gen.auth.Locks()
	if len(cfg.Rooms.Rules) > 0 && cfg.Rooms.Interval > 0 {
		rs := &status.RoomSync{Interval: cfg.Rooms.Interval, DryRunAvailable: true}
		if last := d.m.lastRoomSync.Load(); last != nil {
			rs.At, rs.Rooms, rs.Changed = last.at, len(last.sum.Rooms), last.sum.Changed()
			for _, r := range last.sum.Failed() {
				rs.Failed = append(rs.Failed, r.Room.String())
			}
			if last.err != nil {
				rs.Err = oneLine(last.err)
			}
		}
		s.RoomSync = rs
	}
	s.Migration = migrationCounts(ctx, d)
	if cfg.EndSessions.Enabled {
		es := &status.EndSessions{Bound: cfg.EndSessions.Bound, Ended: d.m.endedByReason()}
		if t := d.m.lastGuard.Load(); t != nil {
			es.LastCheck = *t
		}
		s.EndSessions = es
	}
	return s
}

// features lists the edges and features the settings turn on or off.
func features(cfg config.Config) []status.Feature {
	var out []status.Feature
	on := func(name string, yes bool, detail string) {
		out = append(out, status.Feature{Name: name, On: yes, Detail: detail})
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

// featuresOn names the features on, for the start-up log line.
func featuresOn(cfg config.Config) []string {
	var on []string
	for _, f := range features(cfg) {
		if f.On {
			on = append(on, f.Name)
		}
	}
	return on
}

// changedSections names the top-level settings sections (wiki, token, …)
// that differ between a and b; no value is named, secrets included.
func changedSections(a, b config.Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("yaml"), ",")
			out = append(out, name)
		}
	}
	return out
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

// chatAddr is the chat server's client port, as the settings know it.
func chatAddr(cfg config.Config) string {
	if cfg.Rooms.Server != "" {
		return cfg.Rooms.Server
	}
	if u, err := url.Parse(cfg.Proxy.WebSocketUpstream); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}

// redisHost is the shared Redis's address, without its password.
func redisHost(cfg config.Config) string {
	u, err := url.Parse(string(cfg.State.RedisURL))
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

// migrationCounts counts the accounts with and without livechat_id, at
// most once a minute: a count reads the whole table, on the pool the
// sign-ins use.
func migrationCounts(ctx context.Context, d *daemon) *status.Migration {
	if c := d.m.migration.Load(); c != nil && time.Since(c.at) < time.Minute {
		return &c.counts
	}
	m := status.Migration{}
	if in, err := d.store.Inspect(ctx, nil); err != nil {
		m.Err = oneLine(err)
	} else {
		m.Accounts, m.WithoutLivechatID = in.Accounts, in.WithoutLivechatID
		d.m.migration.Store(&migrationAt{at: time.Now(), counts: m})
	}
	return &m
}

// migrationAt is a migration count and when it was made.
type migrationAt struct {
	at     time.Time
	counts status.Migration
}
