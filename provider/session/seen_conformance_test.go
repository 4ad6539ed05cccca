package session_test

import (
	"testing"

	"livechat-auth/provider/providertest"
	"livechat-auth/provider/session"
)

// TestSeenConformance runs the used-request table against the record kept
// in memory; package state runs it against Redis.
func TestSeenConformance(t *testing.T) {
	providertest.SeenRecords(t, func(*testing.T) providertest.SeenRecord { return session.NewSeen() })
}
