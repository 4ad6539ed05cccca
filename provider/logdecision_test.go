package provider

import (
	"errors"
	"fmt"
	"testing"

	"livechat-auth/wikidb"
)

func TestResult(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"accepted", nil, ResultAccepted},
		{"reason", ReasonBadPassword, "bad-password"},
		{"wrapped reason", fmt.Errorf("check: %w", ReasonSuspended), "suspended"},
		{"database fault", fmt.Errorf("look up livechat_id: %w: connection refused", wikidb.ErrUnavailable), ResultDBUnavailable},
		{"other fault", errors.New("verify token: no key source"), ResultError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Result(tt.err); got != tt.want {
				t.Errorf("Result(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
