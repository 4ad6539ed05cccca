package state

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/provider"
	"livechat-auth/provider/providertest"
)

func TestRedisOldPasswords(t *testing.T) {
	providertest.OldPasswords(t,
		func(t *testing.T) provider.OldPasswords {
			return openTest(t, nil).OldPasswords(provider.NewMemory().OldPasswords())
		},
		func(t *testing.T, first provider.OldPasswords) provider.OldPasswords {
			b, err := Open(Config{URL: redisURL, Prefix: first.(OldPasswords).r.prefix, Timeout: time.Second}, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b.OldPasswords(provider.NewMemory().OldPasswords())
		})
}
