package server

import (
	"sync"
	"sync/atomic"
	"time"

	"livechat-auth/app"
	series "livechat-auth/metrics"
	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/xmpp/guard"
	"livechat-auth/xmpp/rooms"
)

// metrics are the Prometheus series of serve (package
// metrics), and what the status page shows of the same events: the
// decisions of the last hour, the last room sync, the last session
// check, the sessions ended by reason and the last migration count.
type metrics struct {
	series       *series.Series
	recent       status.Recorder
	lastRoomSync atomic.Pointer[roomSyncRun]
	lastGuard    atomic.Pointer[time.Time]
	migration    atomic.Pointer[migrationAt]
	endedMu      sync.Mutex
	ended        map[string]int
}

func newMetrics() *metrics {
	b := app.ReadBuild()
	return &metrics{
		series: series.New(series.Build{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion}),
		ended:  map[string]int{},
	}
}

// observer counts the decisions of one edge and records them for the
// status page.
func (m *metrics) observer(edge string, cmds ...string) provider.Observer {
	count := m.series.Observer(edge, cmds...)
	return func(d provider.Decision) {
		count(d)
		m.recent.Record(edge, d, time.Now())
	}
}

// roomSync counts one run of the room sync and keeps it for the
// status page.
func (m *metrics) roomSync(sum rooms.Summary, err error) {
	m.lastRoomSync.Store(&roomSyncRun{at: time.Now(), sum: sum, err: err})
	m.series.RoomSync(sum.Changed(), len(sum.Failed()), err)
}

// sessionCheck counts one check of the online users (end_sessions) and
// the sessions it ended.
func (m *metrics) sessionCheck(p guard.Pass, err error) {
	m.series.SessionCheck(err == nil)
	if err != nil {
		return
	}
	now := time.Now()
	m.lastGuard.Store(&now)
	for _, e := range p.Ended {
		if e.Err == nil {
			m.sessionEnded(e.Reason)
		}
	}
}

// sessionEnded counts one session ended for reason.
func (m *metrics) sessionEnded(reason string) {
	m.series.SessionEnded(reason)
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
