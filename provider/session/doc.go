// Package session is the wiki-facing session API: the wiki's server, for
// a user logged in to the wiki, asks with a signed request for a
// short-lived chat token, and gets back the Jabber ID, the token, where
// to connect, and the profile the chat should show.
//
// # Request
//
//	POST /v1/sessions
//	X-Livechat-Timestamp: 1800000000            (Unix seconds)
//	X-Livechat-Signature: sha256=<hex>          (HMAC-SHA256 of timestamp + "." + body)
//	{"login": "alice", "locale": "en", "nonce": "9f2c…", "metadata": {...}}   (or "user_id": 2)
//
// Stale timestamps and bad signatures are refused (compared in constant
// time) before the body is read as JSON, and a signed request is good
// once (the nonce keeps two requests in one second apart): the once-only
// record holds the verified MAC, and only the exact encoding above (one
// header each, decimal seconds, "sha256=" and 64 lower-case hex digits)
// is accepted, so a re-spelled signature is no new request. Errors are JSON objects with an
// "error" code; an account without livechat_id gets "unmigrated" and the
// migration page's URL.
package session
