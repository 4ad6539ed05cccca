package token

// Problem says why a token was refused; its value is the log's reason code.
type Problem string

func (p Problem) Error() string { return "token refused: " + string(p) }

// Token refusals.
const (
	ProblemMalformed   Problem = "token-malformed"     // not a JWT, or claims of the wrong type
	ProblemAlgorithm   Problem = "token-algorithm"     // algorithm not allowed (none, or not configured)
	ProblemUnknownKey  Problem = "token-unknown-key"   // no key for this kid and algorithm
	ProblemSignature   Problem = "token-signature"     // the signature does not verify
	ProblemExpired     Problem = "token-expired"       // exp has passed, or is missing
	ProblemNotYetValid Problem = "token-not-yet-valid" // nbf is in the future
	ProblemIssuedAt    Problem = "token-issued-at"     // iat missing or more than the skew away from now
	ProblemLifetime    Problem = "token-lifetime"      // exp more than the maximum lifetime after iat
	ProblemIssuer      Problem = "token-issuer"        // iss is not the configured issuer
	ProblemAudience    Problem = "token-audience"      // aud does not hold the configured audience
	ProblemSubject     Problem = "token-subject"       // the subject claim is missing or names another account
	ProblemReplayed    Problem = "token-replayed"      // this jti was already used, or has none while replay protection is on
)
