package provider

import (
	"errors"

	"github.com/hashicorp/go-hclog"
)

// LogDecision writes the one log line for a decision at the edge: Info
// "accepted" for nil, Info "refused" with the reason code for a Reason,
// and Warn "refused" with reason=db-unavailable for any other error (the
// wiki could not be asked). kv holds the request's fields.
func LogDecision(log hclog.Logger, err error, kv ...any) {
	var reason Reason
	switch {
	case err == nil:
		log.Info("accepted", kv...)
	case errors.As(err, &reason):
		log.Info("refused", append(kv, "reason", string(reason))...)
	default:
		log.Warn("refused", append(kv, "reason", "db-unavailable", "error", err)...)
	}
}
