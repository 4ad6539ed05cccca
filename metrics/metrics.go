// Package metrics keeps the Prometheus series of "livechat-auth serve"
// on a registry of its own (no global state): decisions by edge, command
// and result with their latency, cache hits and database errors; room
// sync runs; reloads; session checks and the sessions they ended; the
// shared state's health; the build. It decides nothing and keeps nothing
// for the status page: it only counts.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"livechat-auth/provider"
)

// Build names the running program, for livechat_auth_build_info.
type Build struct {
	Version, Revision, GoVersion string
}

// Series are the series of one serve process. They are safe for
// concurrent use.
type Series struct {
	registry  *prometheus.Registry
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	cacheHits *prometheus.CounterVec
	dbErrors  *prometheus.CounterVec
	// Room sync, when serve runs it.
	roomChanges  prometheus.Counter
	roomFailures prometheus.Counter
	roomRuns     *prometheus.CounterVec
	// Reloads (SIGHUP).
	reloads    *prometheus.CounterVec
	generation prometheus.Gauge
	// Ending the sessions of refused accounts (end_sessions).
	sessionsEnded *prometheus.CounterVec
	guardRuns     *prometheus.CounterVec
	// The shared state (state.redis_url).
	stateGauge   prometheus.Gauge
	stateOutages prometheus.Counter
}

// New registers every series, those with labels known in advance
// starting at zero, so that a rate or an alert has a series before the
// first event.
func New(b Build) *Series {
	m := &Series{registry: prometheus.NewRegistry()}
	m.newDecisions()
	m.newRoomSync()
	m.newReloads()
	m.newSessionChecks()
	m.newState()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "livechat_auth_build_info",
		Help: "Always 1: the version, VCS revision and Go version of the running program.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	m.registry.MustRegister(buildInfo, m.sessionsEnded, m.guardRuns, m.stateGauge, m.stateOutages, m.decisions, m.latency, m.cacheHits, m.dbErrors, m.roomChanges, m.roomFailures, m.roomRuns,
		m.reloads, m.generation,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Series) newDecisions() {
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_decisions_total",
		Help: "Decisions by edge (extauth, httpauth, session), command and result (accepted, the reason code, db-unavailable or error).",
	}, []string{"edge", "cmd", "result"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "livechat_auth_decision_seconds",
		Help:    "Time to decide, by edge and command.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	}, []string{"edge", "cmd"})
	m.cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_cache_hits_total",
		Help: "Sign-ins whose password was verified from the cache, with no slow hash.",
	}, []string{"edge"})
	m.dbErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_db_errors_total",
		Help: "Decisions that failed because the wiki database did not answer (result db-unavailable).",
	}, []string{"edge"})
}

func (m *Series) newRoomSync() {
	m.roomChanges = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "livechat_auth_room_changes_total",
		Help: "Room affiliations changed by the periodic room sync.",
	})
	m.roomFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "livechat_auth_room_failures_total",
		Help: "Rooms whose sync failed.",
	})
	m.roomRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_room_sync_runs_total",
		Help: "Room sync runs by result (ok, partial, failed).",
	}, []string{"result"})
}

func (m *Series) newReloads() {
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_reloads_total",
		Help: "Reloads (SIGHUP) by result: ok, or refused (the running settings were kept).",
	}, []string{"result"})
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("refused")
	m.generation = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "livechat_auth_config_generation",
		Help: "The running settings: 1 at start, one more per reload that took effect.",
	})
}

func (m *Series) newSessionChecks() {
	m.sessionsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_sessions_ended_total",
		Help: "Chat sessions of refused accounts ended (end_sessions), by reason: the account rule's code, or password-changed.",
	}, []string{"reason"})
	m.guardRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "livechat_auth_session_checks_total",
		Help: "Checks of the online users (end_sessions) by result: ok, or failed (the chat server could not be asked).",
	}, []string{"result"})
	for _, r := range []string{"ok", "failed"} {
		m.guardRuns.WithLabelValues(r)
	}
	for _, r := range []string{"suspended", "unvalidated", "unknown-user", "unmigrated", "password-changed"} {
		m.sessionsEnded.WithLabelValues(r)
	}
}

func (m *Series) newState() {
	m.stateGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "livechat_auth_shared_state_up",
		Help: "1 while the shared state (Redis, state.redis_url) answers or none is configured, 0 while it does not (tokens are refused then).",
	})
	m.stateGauge.Set(1)
	m.stateOutages = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "livechat_auth_shared_state_outages_total",
		Help: "Times the shared state (Redis) stopped answering.",
	})
}

// Observer counts the decisions of one edge. The series of its commands
// for accepted, db-unavailable and error start at zero, and for the
// password sign-ins (auth, check_password) those of their common
// refusals too.
func (m *Series) Observer(edge string, cmds ...string) provider.Observer {
	for _, cmd := range cmds {
		for _, result := range []string{provider.ResultAccepted, provider.ResultDBUnavailable, provider.ResultError} {
			m.decisions.WithLabelValues(edge, cmd, result)
		}
		if cmd == "auth" || cmd == "check_password" { // the password sign-ins
			for _, result := range []string{provider.ResultOutageGrace, string(provider.ReasonBadPassword), string(provider.ReasonRateLimited),
				string(provider.ReasonUnknownUser), string(provider.ReasonTokenUnshared)} {
				m.decisions.WithLabelValues(edge, cmd, result)
			}
		}
	}
	m.cacheHits.WithLabelValues(edge)
	m.dbErrors.WithLabelValues(edge)
	return func(d provider.Decision) {
		m.decisions.WithLabelValues(edge, d.Cmd, d.Result).Inc()
		m.latency.WithLabelValues(edge, d.Cmd).Observe(d.Took.Seconds())
		if d.CacheHit {
			m.cacheHits.WithLabelValues(edge).Inc()
		}
		if d.Result == provider.ResultDBUnavailable {
			m.dbErrors.WithLabelValues(edge).Inc()
		}
	}
}

// RoomSync counts one run of the periodic room sync: the affiliations it
// changed, the rooms that failed, and its result (failed when err is
// set, partial when rooms failed, else ok).
func (m *Series) RoomSync(changed, failedRooms int, err error) {
	m.roomChanges.Add(float64(changed))
	m.roomFailures.Add(float64(failedRooms))
	switch {
	case err != nil:
		m.roomRuns.WithLabelValues("failed").Inc()
	case failedRooms > 0:
		m.roomRuns.WithLabelValues("partial").Inc()
	default:
		m.roomRuns.WithLabelValues("ok").Inc()
	}
}

// Reload counts a reload: ok, or refused.
func (m *Series) Reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		return
	}
	m.reloads.WithLabelValues("refused").Inc()
}

// Generation records the running settings' generation.
func (m *Series) Generation(n int) { m.generation.Set(float64(n)) }

// SessionCheck counts a check of the online users: ok, or failed.
func (m *Series) SessionCheck(ok bool) {
	if ok {
		m.guardRuns.WithLabelValues("ok").Inc()
		return
	}
	m.guardRuns.WithLabelValues("failed").Inc()
}

// SessionEnded counts one session ended for reason.
func (m *Series) SessionEnded(reason string) { m.sessionsEnded.WithLabelValues(reason).Inc() }

// StateUp records whether the shared state answers; each time it stops
// is an outage.
func (m *Series) StateUp(up bool) {
	if up {
		m.stateGauge.Set(1)
		return
	}
	m.stateGauge.Set(0)
	m.stateOutages.Inc()
}

// Handler serves the registry in the Prometheus text format.
func (m *Series) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
