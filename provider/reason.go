package provider

import "livechat-auth/provider/token"

// Reason says why a sign-in was refused; its value is the log's reason code.
type Reason string

func (r Reason) Error() string { return "refused: " + string(r) }

// Refusal reasons. Every refusal is one of these.
const (
	ReasonBadDomain          Reason = "bad-domain"           // the XMPP domain is not one of ours
	ReasonBadUsername        Reason = "bad-username"         // the requested name is not a valid localpart
	ReasonBadInput           Reason = "bad-input"            // empty password, or one holding NUL
	ReasonUnknownUser        Reason = "unknown-user"         // no account has this livechat_id
	ReasonBadPassword        Reason = "bad-password"         // the password does not match
	ReasonNoLocalPassword    Reason = "no-local-password"    // empty hash: OpenID or external-auth account
	ReasonUnsupportedHash    Reason = "unsupported-hash"     // crypt-DES or an unknown format
	ReasonUnvalidated        Reason = "unvalidated"          // waiting = 'u': e-mail not validated
	ReasonSuspended          Reason = "suspended"            // waiting = 'a': awaiting approval or locked
	ReasonUnfinished         Reason = "unfinished"           // valid is set: legacy registration never finished
	ReasonMustChangePassword Reason = "must-change-password" // the wiki requires a new password first
	ReasonTwoFactorRequired  Reason = "2fa-required"         // 2FA account: sign in with a token
	ReasonUnmigrated         Reason = "unmigrated"           // the account has no livechat_id yet
	ReasonBadLivechatID      Reason = "bad-livechat-id"      // the stored livechat_id is not a valid localpart
	ReasonRateLimited        Reason = "rate-limited"         // too many recent failures for this account
	ReasonReadOnly           Reason = "read-only"            // a write (setpass, register, remove): the wiki owns accounts
	ReasonTokenUnshared      Reason = "token-unshared"       // a token, while the shared record of used tokens cannot be asked
)

// A refused token gives a Reason whose value is the token.Problem's, such
// as "token-expired"; ReasonTokenSubject is the one decided here.
const ReasonTokenSubject = Reason(token.ProblemSubject) // the token names another account
