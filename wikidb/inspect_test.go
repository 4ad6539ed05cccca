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
