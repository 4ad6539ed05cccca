// Package extauthd runs the daemon that the extauth processes of
// ejabberd's pool share, and the relay through which they ask it: one
// cache, one failure limit and one record of used tokens for every
// process, where each process alone would split them N ways (a token
// could then sign in once per process).
//
// It provides the relay ([Relay], an extauth.Answerer in front of the
// process's local one), the daemon's side of the relay socket
// ([ServeRelays]), the automatic daemon's places, start and life
// ([DaemonSocket], [AutoStart], [HoldPIDFile], [Run]) and the control
// socket the operator's commands ask ([ServeControl], [FindControl]).
// It does not decide sign-ins (package provider does, behind
// extauth.Server) nor read settings (the command wires them in).
//
// # The path of a request
//
// ejabberd starts one extauth process per core, writes one request at a
// time on its stdin and waits for the reply on its stdout. The process
// runs the request loop, extauth.Serve, with a Relay as its Answerer:
//
//	ejabberd          extauth process (Relay)            daemon (ServeRelays)
//	   │ frame ─────────▶ │                                 │
//	   │                  │ the same frame, unparsed ──────▶ │ decides (extauth.Server)
//	   │                  │ ◀────────────── 4-byte reply    │
//	   │ ◀─── that reply  │                                 │
//
// Every reply ejabberd reads is written by the extauth process, one per
// request, in order, whatever happens to the daemon:
//
//   - the daemon answers: its reply is passed on (forwarding);
//   - the daemon cannot be asked (none answers, or the relay is lost,
//     see below): the process decides here with its local
//     extauth.Server, refusing tokens (reason token-unshared: a record of
//     used tokens kept by one process would let a token sign in once per
//     process);
//   - the daemon was deciding the request when it died (the request was
//     sent, the connection closed with no reply): that request is decided
//     here at once, the same way;
//   - the daemon went away between two requests (the write of the next
//     one fails: it decided nothing of it): the process connects again,
//     starting a daemon when none answers, and asks it there;
//   - the daemon does not answer within extauth.request_timeout (plus
//     0.5 s for the trip): "no" (reason daemon-timeout; deciding again
//     would be slower still, and could accept a token the daemon has
//     used), and the connection is dropped, so that a late reply cannot
//     be taken for the next request's.
//
// A reply that never comes is the one thing worse than a refusal.
// ejabberd 23.01 and 24.12 (TestEjabberdMissingReply runs on both) then
// wait out a fixed 30 s call timeout,
// refuse that sign-in and, at the same moment, those queued behind it on
// the same process, log "External authentication program failed when
// calling 'check_password' …: timeout" ("disconnected" for the queued
// ones), stop the program and start another; later replies are in step.
//
// # The relay's states
//
//	idle ──first request: connect (start a daemon, wait ≤ 3 s)──▶ connected
//	connected ──daemon died, timed out, or none to connect to──▶ lost
//	lost ──the relay's goroutine, or a request, connects──▶ connected
//	alone: no daemon may be asked (an unsafe folder); never leaves
//
// Entering lost logs one WARN (the outage) and sets a goroutine going
// (reconnect) that starts a daemon and connects at once, and again after
// growing pauses (50 ms to 5 s) until it is connected; requests do not
// wait for it, and dial themselves at most every 100 ms. Leaving lost
// logs one INFO with how long the daemon was away ("daemon reachable
// again", away=…). A daemon that stopped between two requests is no
// outage: the next request connects again (starting one, waiting ≤ 3 s)
// and is asked there.
//
// # The automatic daemon
//
// With no extauth.daemon_socket, the relays of one configuration and
// user meet at one daemon: the same program, started by the first relay
// that finds none (AutoStart takes StartLock, so that racing relays start
// one between them; a daemon started twice finds the pid file held by
// the first and exits), detached in its own session. Its socket lives
// in a private folder (DaemonSocket, PrivateDir: one owned by the user,
// closed to others); its pid file, start lock, control socket, log and
// used-token journal sit beside it. Run is its life:
//
//   - it answers relays (mode 0600) and the control socket;
//   - it follows its settings file (checked every 2 s, and on SIGHUP),
//     keeping the used-token record, failure counts and cache; a change
//     it cannot take (state.*) stops it for a daemon of the new settings;
//   - when its program file is replaced (an upgrade) it stops, so that
//     the relays start the new program;
//   - with no relay connected for 15 minutes it exits (every token it
//     has seen has expired by then);
//   - when it stops, it stops reading: the requests already sent are
//     answered, and a relay's next write fails, so that the relay asks
//     a new daemon without deciding anything alone.
//
// Killed (SIGKILL, a crash), it leaves its requests under way to the
// relays, which decide them at once; the first relay to notice starts a
// new daemon, and every relay connects to it as soon as it answers
// (TestEjabberdDaemonKilledMidBurst: away 0.05–0.25 s here), and the
// used-token journal it reads back keeps a used token used. A daemon
// killed a moment ago may still accept a connection on its way out, so
// AutoStart counts a daemon as running only when it also holds its pid
// file; a connection to a dying one fails at the next write, which
// connects again.
//
// "livechat-auth serve" answers relays the same way on
// extauth.daemon_socket (mode 0660); relays then never start it.
//
// # The control socket
//
// Beside each daemon's relay socket (ControlSocket: "….control.sock",
// mode 0600) the daemon serves HTTP/1.1 for "livechat-auth locks" and
// "check". It serves root and its own user only (SO_PEERCRED); the
// client asks only a daemon run by root, its own user or the socket
// folder's owner (TrustedPeer), and FindControl, run as root, only a
// socket answered by this very program running as its folder's owner.
//
//	operator (ControlClient)             daemon (ServeControl)
//	   │ GET /v1/locks ───────────────────▶ │
//	   │ ◀─ 200 {"locks":[{"name","failures","guesses","sealed","until"}]}
//	   │ GET /v1/locks/{user} ────────────▶ │
//	   │ ◀──────── 200 {lock} | 404 {"error":"not locked"}
//	   │ DELETE /v1/locks/{user} ─────────▶ │ clears it, logs "lock cleared by the operator"
//	   │ ◀──── 200 {"cleared":true} | 404 {"error":"not locked"}
//
// # Why frames are forwarded
//
// The extauth process used to hand its stdin and stdout to the daemon
// (SCM_RIGHTS), which then read ejabberd's requests and wrote the
// replies itself, two process wake-ups a request where forwarding takes
// four. But a daemon that died between reading a request and writing its
// reply left that request unanswered, and the process that took its
// pipes back could not know one was pending: nothing short of writing
// every reply itself lets the process answer each request exactly once,
// since a reply and a note of it cannot be written at one stroke.
//
// Forwarding costs, measured on a 2-core virtual machine that also ran
// ejabberd 23.01, MariaDB and the clients (the last commit with the
// handover against a build of this relay, ejabberd's default pool,
// 8 clients, rounds of 40 sign-ins alternated as test/load_test.go's
// compareSignIns does, 2,000 sign-ins a setup, 5 runs, a quiet machine):
//
//	repeated password sign-ins, forwarding ÷ handover  0.91 0.94 0.93 0.91 0.94
//	one-time ES256 tokens, forwarding ÷ handover       0.91 0.90 0.91 0.94 0.87
//
// (0.77–0.98 in earlier runs while other work loaded the machine). One
// request over the pipes (BenchmarkExtauthPeer, isuser) takes about
// 190–200 µs where the extauth process deciding alone takes 85–105 µs:
// the two more wake-ups. The relay spends ≈ 40 µs of CPU a request
// (measured from /proc over 30,000 requests): it reads and writes the
// daemon's socket with blocking system calls, and extauth runs with two
// Ps, since Go's poller with one P cost ≈ 65 µs (the runtime takes the P
// back and wakes threads during every read).
package extauthd
