// Package doctor checks a livechat-auth setup the way a service starts
// it: as the user the chat server runs as, with the environment that
// user's service has, reading the same settings, database, keys and
// sockets. It prints one line per check, with what to do for each
// warning and failure, and returns the worst verdict as an exit code.
// It changes nothing: it reads, connects and asks.
//
// # Checks, in order
//
//   - the config file: readable by this user, valid; secret files every
//     user may read or others than their owner may write (config.go)
//   - the wiki database: it answers, the grant is SELECT only, the
//     columns and the livechat_id unique key exist, the site preferences
//     and groups are readable, and what the stored hashes are
//     (database.go)
//   - the extauth daemon's socket: present and answering, or the
//     automatic daemon's private folder (extauth.go)
//   - the token keys, loaded as serve loads them (keys.go)
//   - the shared Redis, when state.redis_url is set (redis.go)
//   - the chat server, when the migration API is on: it must tell that
//     a name nobody has is no account (chat.go)
//   - an isuser request through the real extauth framing, to a process
//     of this program deciding alone (extauth.go)
//
// A failure that leaves nothing further to check (settings that do not
// load, a DSN that does not parse) ends the run there.
//
// # Verdicts and exit codes
//
// After a first line naming the version and the user, and one naming the
// environment variables that change what the checks see (never their
// values), each check's line starts with OK, WARN or FAIL; a WARN or FAIL
// line is followed by a "→" line saying what to do, when there is
// something to say. [Run] returns 0 when every check is OK, 1 for a
// warning and 2 for a failure. The lines and codes are the program's
// interface: scripts and test/doctor_test.go read them.
//
// # Checking as another user
//
// With [Config.As] (root only), Run starts this program's doctor again
// as that user, in the clean environment a chat server's service starts
// with (unless [Config.KeepEnv]), and prints its lines. Then, unless the
// user is serve's own ([ServeUser]), it checks as root which of serve's
// secrets named in the config file and [Config.ServeConfig] that user
// can open, by opening each as that user (secrets.go): a signing key or
// session key within the chat server's reach is a failure.
//
// # What the caller provides
//
// What serve and extauth build with their own wiring comes from
// functions in [Config], so that the doctor checks the very objects the
// service would use: the program's path, the automatic daemon's socket,
// the token keys and the chat server the migration API asks. The package
// itself opens only the wiki database (one connection) and the shared
// Redis, and closes both.
// Nothing but cmd/livechat-auth imports this package.
package doctor
