package config

import (
	"strings"
	"testing"
)

// TestChangedSections: a reload names the sections that changed, never a
// value.
func TestChangedSections(t *testing.T) {
	a := Default()
	b := a
	b.Token.Secret = "a new secret that must never be printed"
	b.Auth.MaxFailures = 9
	got := strings.Join(ChangedSections(a, b), ",")
	if got != "auth,token" {
		t.Errorf("changed %q; want auth,token", got)
	}
	if len(ChangedSections(a, a)) != 0 {
		t.Error("no change named a section")
	}
}
