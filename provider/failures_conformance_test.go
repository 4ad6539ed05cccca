package provider_test

import (
	"testing"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
)

// TestMemoryFailureCounts runs the failure-count table against the counts
// kept in one process; package state runs it against Redis.
func TestMemoryFailureCounts(t *testing.T) {
	providertest.FailureCounts(t, func(*testing.T) provider.FailureCounts { return provider.NewMemory().Failures() })
}

// TestMemoryOldPasswords runs the old-password table against the proofs
// kept in one process; package state runs it against Redis.
func TestMemoryOldPasswords(t *testing.T) {
	providertest.OldPasswords(t, func(*testing.T) provider.OldPasswords { return provider.NewMemory().OldPasswords() }, nil)
}
