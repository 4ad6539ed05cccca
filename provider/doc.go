// Package provider decides whether a chat sign-in is allowed: it verifies
// a password exactly as TikiWiki does, applies the wiki's account-state
// rules and the chat rules on top, and says why when it refuses.
//
// # Outcomes
//
// Authenticate returns nil when the sign-in is accepted, a Reason when it
// is refused (match with errors.Is or errors.As; the Reason's value is the
// log's reason code), and any other error for a technical fault such as an
// unreachable database. Callers answer "no" to both of the latter.
//
// # Cost
//
// A sign-in costs one Directory lookup. A password verified once is kept,
// keyed by a keyed hash of (account, stored hash, password), so a repeat
// skips the slow hash while the stored hash is unchanged; the account row
// and its state rules are still read fresh each time. Identical concurrent
// verifications run once. Failed attempts are rate-limited per account.
//
// The package never sees column names and never writes anything: it reads
// accounts through the Directory interface, which wikidb implements.
package provider
