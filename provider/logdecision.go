package provider

import (
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Result names a decision's outcome for logs and metrics: "accepted",
// the Reason's code, or "db-unavailable" for a technical fault.
func Result(err error) string {
	var reason Reason
	switch {
	case err == nil:
		return "accepted"
	case errors.As(err, &reason):
		return string(reason)
	}
	return "db-unavailable"
}

// Observer is told of every decision at an edge, for metrics: the
// command, its Result, how long it took and whether the cache answered.
type Observer func(cmd, result string, d time.Duration, cacheHit bool)

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
