package wikidb

import (
	"strings"
	"testing"
)

func TestPrefsSet(t *testing.T) {
	tests := []struct {
		name, pref, value string
		want              Prefs
	}{
		{"change_password off", "change_password", "n", Prefs{ChangePassword: false, PassDueDays: -1}},
		{"change_password on", "change_password", "y", DefaultPrefs()},
		{"pass_due", "pass_due", "90", Prefs{ChangePassword: true, PassDueDays: 90}},
		{"pass_due not a number keeps the default", "pass_due", "soon", DefaultPrefs()},
		{"twoFactorAuth on", "twoFactorAuth", "y", Prefs{ChangePassword: true, PassDueDays: -1, TwoFactorAuth: true}},
		{"twoFactorAuth anything else is off", "twoFactorAuth", "Y", DefaultPrefs()},
		{"unrelated pref", "feature_wiki", "y", DefaultPrefs()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPrefs()
			p.set(tt.pref, tt.value)
			if p != tt.want {
				t.Errorf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := Open("user:s3cret@tcp(127.0.0.1:3306", Config{})
	if err == nil {
		t.Fatal("bad DSN accepted")
	}
	if got := err.Error(); got == "" || strings.Contains(got, "s3cret") {
		t.Fatalf("error %q", got)
	}
}
