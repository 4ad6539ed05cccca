package wikidb

import (
	"slices"
	"testing"
)

func TestPrivileges(t *testing.T) {
	for grant, want := range map[string][]string{
		"GRANT USAGE ON *.* TO `r`@`%` IDENTIFIED BY PASSWORD '*AB'":                   {"USAGE"},
		"GRANT SELECT ON `tiki`.* TO `r`@`%`":                                          {"SELECT"},
		"GRANT SELECT, INSERT, UPDATE ON `tiki`.* TO `r`@`%`":                          {"SELECT", "INSERT", "UPDATE"},
		"GRANT ALL PRIVILEGES ON `tiki`.* TO `r`@`%`":                                  {"ALL"},
		"GRANT SELECT (login, hash), UPDATE (hash) ON `tiki`.`users_users` TO `r`@`%`": {"SELECT", "UPDATE"},
		"GRANT `reader` TO `r`@`%`":                                                    nil,
	} {
		if got := privileges(grant); !slices.Equal(got, want) {
			t.Errorf("privileges(%q) = %q, want %q", grant, got, want)
		}
	}
}

func TestRoleOf(t *testing.T) {
	if r, ok := roleOf("GRANT `lca_writer` TO `r`@`%`"); !ok || r != "lca_writer" {
		t.Errorf("roleOf = %q, %v", r, ok)
	}
	if _, ok := roleOf("GRANT SELECT ON `tiki`.* TO `r`@`%`"); ok {
		t.Error("a privilege grant taken for a role")
	}
	var in Inspection
	in.addPrivileges("GRANT SELECT ON `tiki`.* TO `r`@`%` WITH GRANT OPTION")
	if len(in.Beyond) != 1 || in.Beyond[0] != "GRANT OPTION" {
		t.Errorf("Beyond = %q", in.Beyond)
	}
}
