package provider

import (
	"testing"
	"time"

	"livechat-auth/wikidb"
)

func TestMustChangePassword(t *testing.T) {
	now := time.Unix(1800000000, 0)
	day := int64(86400)
	tests := []struct {
		name    string
		prefs   wikidb.Prefs
		confirm int64
		want    bool
	}{
		{"pref off", wikidb.Prefs{ChangePassword: false, PassDueDays: -1}, 0, false},
		{"never confirmed", wikidb.Prefs{ChangePassword: true, PassDueDays: -1}, 0, true},
		{"confirmed, no expiry", wikidb.Prefs{ChangePassword: true, PassDueDays: -1}, 1, false},
		{"within pass_due", wikidb.Prefs{ChangePassword: true, PassDueDays: 30}, now.Unix() - 29*day, false},
		{"past pass_due", wikidb.Prefs{ChangePassword: true, PassDueDays: 30}, now.Unix() - 31*day, true},
		{"pass_due 0", wikidb.Prefs{ChangePassword: true, PassDueDays: 0}, now.Unix() - 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := wikidb.User{PassConfirm: tt.confirm}
			if got := mustChangePassword(u, tt.prefs, now); got != tt.want {
				t.Errorf("mustChangePassword = %v, want %v", got, tt.want)
			}
		})
	}
}
