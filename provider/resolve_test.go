package provider_test

import (
	"testing"
	"time"

	"livechat-auth/provider/providertest"
)

// TestResolve runs the "which account" table against the in-memory
// Directory; test.TestResolveOnMariaDB runs it against wikidb.Store.
func TestResolve(t *testing.T) {
	providertest.RunResolve(t, providertest.NewDirectory(providertest.Prefs, providertest.Accounts(t)...))
}

// TestGroupMembers runs the "who is in these groups" table against the
// in-memory Directory; test.TestGroupMembersOnMariaDB runs it against
// wikidb.Store.
func TestGroupMembers(t *testing.T) {
	d := providertest.NewDirectory(providertest.Prefs, providertest.Accounts(t)...)
	d.SetGroups(providertest.GroupFixture(time.Now()))
	providertest.RunGroupMembers(t, d)
}
