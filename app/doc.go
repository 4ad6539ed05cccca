// Package app builds livechat-auth's parts from its settings, the same
// way for extauth, serve, the automatic daemon and the one-shot commands
// that decide (check, token, end-sessions, sync-rooms), so that a setting
// means one thing whichever of them reads it:
//
//   - OpenStore, NewAuthenticator, OpenAuthenticator: the wiki store and
//     the decision maker (provider.Authenticator) with its token keys
//     (OpenTokens);
//   - OpenState: what serve and the automatic daemon keep across reloads
//     (used tokens, failure counts, migration proofs, session requests),
//     in memory or shared in Redis;
//   - AdminLogin: the room-sync account's sign-in, built once per
//     settings for room sync, ending sessions and the migration API;
//   - NewSyncer, NewMigration: the room syncer and the migration API;
//   - AutoSocket, FindControl: where the automatic extauth daemon of a
//     configuration answers, and its control socket;
//   - NewLogger, WarnSettings, ReadBuild: the logger, the warnings every
//     long-running command logs at start, and the build's version.
//
// It decides nothing itself: the decisions belong to the packages it
// wires (provider, wikidb, xmpp/...). cmd/livechat-auth parses flags and
// calls it; package server runs what it builds.
package app
