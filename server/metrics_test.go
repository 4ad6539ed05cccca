package server

import "testing"

// TestStateRecoveryKeepsCounts: the shared state coming back touches only
// its own gauge; the sessions ended so far stay counted.
func TestStateRecoveryKeepsCounts(t *testing.T) {
	m := newMetrics()
	m.sessionEnded("suspended")
	m.series.StateUp(false)
	m.series.StateUp(true)
	if got := m.endedByReason()["suspended"]; got != 1 {
		t.Errorf("sessions ended after a recovery: %d; want 1", got)
	}
}
