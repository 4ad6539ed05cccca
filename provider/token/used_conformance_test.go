package token_test

import (
	"path/filepath"
	"testing"
	"time"

	"livechat-auth/provider/providertest"
	"livechat-auth/provider/token"
)

// TestUsedTokensConformance runs the used-token table against the record
// kept in memory and the journaled one; package state runs it against
// Redis.
func TestUsedTokensConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		providertest.UsedRecords(t, func(*testing.T) token.UsedRecord { return token.NewUsedTokens() })
	})
	t.Run("journal", func(t *testing.T) {
		providertest.UsedRecords(t, func(t *testing.T) token.UsedRecord {
			u, err := token.OpenUsedTokens(filepath.Join(t.TempDir(), "used"), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { u.Close() })
			return u
		})
	})
}
