package provider

import (
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/wikidb"
)

// Results that are not a Reason.
const (
	ResultAccepted      = "accepted"       // nil: the sign-in or lookup succeeded
	ResultDBUnavailable = "db-unavailable" // the wiki database did not answer (wikidb.ErrUnavailable)
	ResultError         = "error"          // any other fault
)

// Result names a decision's outcome for logs and metrics: "accepted",
// the Reason's code, "db-unavailable" when the wiki database did not
// answer, or "error" for any other fault.
func Result(err error) string {
	var reason Reason
	switch {
	case err == nil:
		return ResultAccepted
	case errors.As(err, &reason):
		return string(reason)
	case errors.Is(err, wikidb.ErrUnavailable):
		return ResultDBUnavailable
	}
	return ResultError
}

// Decision is one decision at an edge, as an Observer is told of it.
type Decision struct {
	Cmd      string        // the edge's command: auth, isuser, check_password, session, claim, ...
	Name     string        // the name it was about, as the caller gave it ("" unknown); never a password
	Result   string        // its Result
	Took     time.Duration // how long it took
	CacheHit bool          // the verified cache answered
}

// Observer is told of every decision at an edge, for metrics and the
// status page.
type Observer func(Decision)

// LogDecision writes the one log line for a decision at the edge: Info
// "accepted" for nil, Info "refused" with the reason code for a Reason,
// Warn "refused" with reason=db-unavailable when the wiki could not be
// asked, and Error "failed" with reason=error for any other fault. kv
// holds the request's fields.
func LogDecision(log hclog.Logger, err error, kv ...any) {
	switch result := Result(err); result {
	case ResultAccepted:
		log.Info("accepted", kv...)
	case ResultDBUnavailable:
		log.Warn("refused", append(kv, "reason", result, "error", err)...)
	case ResultError:
		log.Error("failed", append(kv, "reason", result, "error", err)...)
	default:
		log.Info("refused", append(kv, "reason", result)...)
	}
}

// LogSignIn is LogDecision for a sign-in: one accepted under the outage
// grace is logged at Warn with reason=outage-grace, since the wiki could
// not confirm it.
func LogSignIn(log hclog.Logger, acct Account, err error, kv ...any) {
	if err == nil && acct.OutageGrace {
		log.Warn("accepted", append(kv, "reason", ResultOutageGrace)...)
		return
	}
	LogDecision(log, err, kv...)
}
