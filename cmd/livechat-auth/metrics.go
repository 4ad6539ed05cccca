package main

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/xmpp/guard"
	"livechat-auth/xmpp/rooms"
)

// metrics are the Prometheus series of "livechat-auth serve", on their
// own registry (no global state).
type metrics struct {
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

	// For the status page: the decisions of the last hour, the last room
	// sync, the last session check and the sessions ended by reason.
	recent       status.Recorder
	lastRoomSync atomic.Pointer[roomSyncRun]
	lastGuard    atomic.Pointer[time.Time]
	migration    atomic.Pointer[migrationAt]
	endedMu      sync.Mutex
	ended        map[string]int
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livechat_auth_decisions_total",
			Help: "Decisions by edge (extauth, httpauth, session), command and result (accepted, the reason code, db-unavailable or error).",
		}, []string{"edge", "cmd", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "livechat_auth_decision_seconds",
			Help:    "Time to decide, by edge and command.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"edge", "cmd"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livechat_auth_cache_hits_total",
			Help: "Sign-ins whose password was verified from the cache, with no slow hash.",
		}, []string{"edge"}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livechat_auth_db_errors_total",
			Help: "Decisions that failed because the wiki database did not answer (result db-unavailable).",
		}, []string{"edge"}),
	}
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
	m.stateGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "livechat_auth_shared_state_up",
		Help: "1 while the shared state (Redis, state.redis_url) answers or none is configured, 0 while it does not (tokens are refused then).",
	})
	m.stateGauge.Set(1)
	m.ended = map[string]int{}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "livechat_auth_build_info",
		Help: "Always 1: the version, VCS revision and Go version of the running program.",
	}, []string{"version", "revision", "goversion"})
	b := readBuild()
	buildInfo.WithLabelValues(b.version, b.revision, b.goVersion).Set(1)
	m.stateOutages = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "livechat_auth_shared_state_outages_total",
		Help: "Times the shared state (Redis) stopped answering.",
	})
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
	m.registry.MustRegister(buildInfo, m.sessionsEnded, m.guardRuns, m.stateGauge, m.stateOutages, m.decisions, m.latency, m.cacheHits, m.dbErrors, m.roomChanges, m.roomFailures, m.roomRuns,
		m.reloads, m.generation,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observer records the decisions of one edge. The series of its commands
// for accepted, db-unavailable and error start at zero, so that a rate or
// an alert on them has a series before the first such decision.
func (m *metrics) observer(edge string, cmds ...string) provider.Observer {
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
	return func(cmd, result string, d time.Duration, cacheHit bool) {
		m.decisions.WithLabelValues(edge, cmd, result).Inc()
		m.recent.Record(edge, result, time.Now())
		m.latency.WithLabelValues(edge, cmd).Observe(d.Seconds())
		if cacheHit {
			m.cacheHits.WithLabelValues(edge).Inc()
		}
		if result == provider.ResultDBUnavailable {
			m.dbErrors.WithLabelValues(edge).Inc()
		}
	}
}

// stateUp records whether the shared state answers.
func (m *metrics) stateUp(up bool) {
	if up {
		m.stateGauge.Set(1)
		return
	}
	m.stateGauge.Set(0)
	m.stateOutages.Inc()
}

// sessionEnded counts one session ended for reason.
func (m *metrics) sessionEnded(reason string) {
	m.sessionsEnded.WithLabelValues(reason).Inc()
	m.endedMu.Lock()
	m.ended[reason]++
	m.endedMu.Unlock()
}

// endedByReason copies the sessions ended so far, by reason.
func (m *metrics) endedByReason() map[string]int {
	m.endedMu.Lock()
	defer m.endedMu.Unlock()
	out := make(map[string]int, len(m.ended))
	for k, v := range m.ended {
		out[k] = v
	}
	return out
}

// roomSync counts one run of serve's room sync and keeps it for the
// status page.
func (m *metrics) roomSync(sum rooms.Summary, err error) {
	m.lastRoomSync.Store(&roomSyncRun{at: time.Now(), sum: sum, err: err})
	m.roomChanges.Add(float64(sum.Changed()))
	m.roomFailures.Add(float64(len(sum.Failed())))
	switch {
	case err != nil:
		m.roomRuns.WithLabelValues("failed").Inc()
	case len(sum.Failed()) > 0:
		m.roomRuns.WithLabelValues("partial").Inc()
	default:
		m.roomRuns.WithLabelValues("ok").Inc()
	}
}

// sessionCheck counts one check of the online users (end_sessions) and
// the sessions it ended.
func (m *metrics) sessionCheck(p guard.Pass, err error) {
	if err != nil {
		m.guardRuns.WithLabelValues("failed").Inc()
		return
	}
	m.guardRuns.WithLabelValues("ok").Inc()
	now := time.Now()
	m.lastGuard.Store(&now)
	for _, e := range p.Ended {
		if e.Err == nil {
			m.sessionEnded(e.Reason)
		}
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
