// Package server runs livechat-auth's two long-lived processes:
//
//   - serve (Open, then Server.Run): the HTTP listener (session API,
//     migration API, Prosody's HTTP contract, published keys, the chat
//     proxy, health and metrics), the extauth relays' socket with its
//     control socket, the status page, and the room-sync and
//     session-check loops;
//   - the automatic extauth daemon (RunDaemon), which answers the extauth
//     processes of ejabberd's pool that share one configuration.
//
// Both build everything that comes from the settings with package app,
// as one generation, complete before it runs: a reload (SIGHUP) builds
// the next generation beside the running one and swaps it in whole, or,
// when the settings do not load or build, logs why on one line and keeps
// the running one. What must outlive a reload (the wiki store, the shared
// state, the metrics, the sessions being ended) is opened once.
//
//	SIGHUP ─► config.Load ─► Validate ─► build (keys, decision maker,
//	          routes, syncer) ─► swap ─► stop the old generation's work
//	                    └─ any error: log, keep the running generation
package server
