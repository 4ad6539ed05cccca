// Package extauth speaks ejabberd's external authentication protocol on a
// pair of streams (the extauth program's stdin and stdout) and decides
// requests locally.
//
// Each request is a 2-byte big-endian length followed by that many bytes
// of UTF-8, "cmd:user:server[:password]", split into at most four fields
// so that passwords may hold ':'. Each reply is exactly 4 bytes:
// 00 02 00 01 for yes, 00 02 00 00 for no. Nothing else may ever be
// written to the reply stream: a stray byte desynchronises ejabberd's
// worker. Requests are served one at a time, as ejabberd sends them.
//
// [Serve] is the one request loop: it reads frames and asks an
// [Answerer] for each. [Server] is the Answerer that decides with an
// [Authenticator] and logs one line per decision; package extauthd wraps
// it in a relay to the daemon the processes of ejabberd's pool share.
//
// Writes (setpass, tryregister, removeuser, removeuser3) are answered
// "no": the wiki owns the accounts.
package extauth
