package provider_test

import (
	"testing"

	"livechat-auth/provider/providertest"
)

// TestResolve runs the "which account" table against the in-memory
// Directory; test.TestResolveOnMariaDB runs it against wikidb.Store.
func TestResolve(t *testing.T) {
	providertest.RunResolve(t, providertest.NewDirectory(providertest.Prefs, providertest.Accounts(t)...))
}
