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
// # Which account
//
// Resolve is the one place that decides which account a name, a login or
// a user id names: it looks the account up, checks the row is exactly that
// account (the database collation also matches names that differ in
// accents, width, ß/ss, ignorable characters or trailing spaces), applies
// the account rules and derives the JID and token subject. Authenticate
// runs the same sequence with the password or token checked in between;
// the session API, the token subcommand and room sync call Resolve.
//
// # Locks
//
// More than Config.MaxFailures failures within Config.FailureWindow lock
// an account name (see Locks, LockOf, Unlock). A locked account is still
// looked up and its refusal pays the dummy bcrypt, so a lock cannot be
// seen in the timing; a password the verified cache proved recently still
// signs in, so a guesser cannot lock the owner out.
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
