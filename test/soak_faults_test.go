package test

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The faults the soak injects, one at a time.
const (
	faultDBCut      = "db-cut"               // the wiki database unreachable, then back
	faultRedis      = "redis-restart-empty"  // Redis SIGKILLed, started again with no data
	faultDaemonKill = "daemon-kill"          // the automatic extauth daemon SIGKILLed
	faultEjabberd   = "ejabberd-restart"     // ejabberd stopped and started on the same data
	faultBadReload  = "sighup-broken-config" // a broken config file, SIGHUP to serve and the daemon; then the good one back
	faultGoodReload = "sighup-good-config"   // the good config file rewritten, SIGHUP
)

var soakFaults = []string{faultDBCut, faultRedis, faultDaemonKill, faultEjabberd, faultBadReload, faultGoodReload}

// faultBudget is how long each fault may take, with its recovery
// allowance: one is started only when it fits before the quiet end.
var faultBudget = map[string]time.Duration{
	faultDBCut: 8 * time.Second, faultRedis: 7 * time.Second, faultDaemonKill: 12 * time.Second,
	faultEjabberd: 14 * time.Second, faultBadReload: 7 * time.Second, faultGoodReload: 3 * time.Second,
}

// The documented windows: which right answers a fault may refuse, from
// its start until it ended plus an allowance for recovery. A fault that
// is not listed (the reloads) may refuse nothing. No window ever excuses
// a wrong acceptance.
//
//   - db-cut: everything that needs the wiki (no outage grace is
//     configured): passwords, tokens (the account rules still apply),
//     isuser, session requests. The allowance covers the driver's
//     reconnect and a query in flight at the restore.
//   - redis-restart-empty: tokens (token-unshared while Redis does not
//     answer; afterwards those issued before the record became whole,
//     which counts whole seconds) and session requests (503
//     state-unavailable). Passwords keep signing in. The record becomes
//     whole when the first process uses the new Redis (it writes the
//     note <prefix>since), which may be well after Redis is back: the
//     window lasts until that note is written (noteWatch), plus the
//     allowance.
//   - daemon-kill: tokens through ejabberd's extauth processes (and the
//     test's own), refused as token-unshared while they decide alone,
//     until a new daemon answers (within daemonBack of the kill) and
//     they meet it again. Passwords and isuser are decided by the
//     processes alone meanwhile, a request in flight at the kill
//     included: none is excused, none may hang.
//   - ejabberd-restart: everything through ejabberd (connections refused).
var soakWindows = map[string]struct {
	allowance time.Duration
	affects   func(a attempt) bool
}{
	faultDBCut: {3 * time.Second, func(attempt) bool { return true }},
	faultRedis: {4 * time.Second, func(a attempt) bool { return a.kind == kindToken || a.kind == kindSession }},
	faultDaemonKill: {2 * time.Second, func(a attempt) bool {
		return a.kind == kindToken && (a.path == pathEjabberd || a.path == pathExtauth)
	}},
	faultEjabberd: {5 * time.Second, func(a attempt) bool { return a.path == pathEjabberd }},
}

const (
	// daemonBack: after a kill, a new automatic daemon answers within
	// this time (the traffic keeps asking for one).
	daemonBack = 2 * time.Second
	// hangThreshold: an answer this late is a hang (every edge answers
	// within its request timeout, 5s, well before).
	hangThreshold = 10 * time.Second
	// soakQuiet: the last stretch of the run has no fault, so every path
	// must have recovered before the end.
	soakQuiet = 8 * time.Second
)

// runFaults injects faults until dur has passed since it started: every
// kind once in a random order first, then random kinds, with random
// gaps, as long as the next fits before the quiet end.
func (s *soakStack) runFaults(t *testing.T, l *ledger, rng *rand.Rand, dur time.Duration) {
	t.Helper()
	l.begin = time.Now()
	deadline := l.begin.Add(dur)
	var queue []string
	for _, i := range rng.Perm(len(soakFaults)) {
		queue = append(queue, soakFaults[i])
	}
	allowed := func(f string, room time.Duration) bool { return faultBudget[f] <= room }
	sleepFor(1500*time.Millisecond + time.Duration(rng.Intn(1500))*time.Millisecond)
	for {
		room := time.Until(deadline) - soakQuiet
		fault := ""
		for i, f := range queue { // the first of the queue that fits
			if allowed(f, room) {
				fault, queue = f, append(queue[:i:i], queue[i+1:]...)
				break
			}
		}
		if fault == "" {
			for _, i := range rng.Perm(len(soakFaults)) { // then any that fits
				if f := soakFaults[i]; allowed(f, room) {
					fault = f
					break
				}
			}
		}
		if fault == "" {
			break
		}
		s.inject(t, l, rng, fault)
		gap := 1500*time.Millisecond + time.Duration(rng.Intn(2500))*time.Millisecond
		if len(queue) == 0 { // every kind has run: leave more time without faults
			gap = 3*time.Second + time.Duration(rng.Intn(7000))*time.Millisecond
		}
		sleepFor(gap)
	}
	l.end = deadline
	sleepFor(time.Until(deadline))
	if len(queue) > 0 && dur >= time.Minute {
		t.Errorf("faults never injected in %s: %v", dur, queue)
	}
}

func sleepFor(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

// inject plays one fault and waits for its end (not for the recovery of
// what it broke: that is the allowance's part).
func (s *soakStack) inject(t *testing.T, l *ledger, rng *rand.Rand, fault string) {
	t.Helper()
	s.expectDaemon(t, l, "before "+fault)
	w := window{fault: fault, start: time.Now()}
	switch fault {
	case faultDBCut:
		s.proxy.Stop()
		sleepFor(2*time.Second + time.Duration(rng.Intn(3000))*time.Millisecond)
		s.proxy.Start(t)
	case faultRedis:
		s.redis.stop()
		sleepFor(time.Duration(200+rng.Intn(1800)) * time.Millisecond)
		s.redis = startRedis(t, s.redisPort, t.TempDir())
		s.leaks.add(s.redis.cmd.Process.Pid)
	case faultDaemonKill:
		w.detail = s.killDaemon(t, l)
	case faultEjabberd:
		s.ej.Load().stop()
		if stack.Containers() {
			// A container sharing the machine's pids may or may not take
			// the daemon with it; ejabberd's systemd unit would: end it,
			// so that every run on this stack is alike.
			_ = syscall.Kill(s.daemon, syscall.SIGKILL) // gone already is fine
		}
		s.ej.Store(startEjabberdWith(t, s.ejOpts))
		if stack.Containers() {
			w.detail = s.daemonAfterRestart(t, l)
		}
	case faultBadReload:
		w.detail = s.badReload(t, l, rng)
	case faultGoodReload:
		s.goodReload(t, l)
	}
	w.end = time.Now()
	l.addWindow(w)
	t.Logf("%6.1fs %s (%s) %s", w.start.Sub(l.begin).Seconds(), fault, w.end.Sub(w.start).Round(100*time.Millisecond), w.detail)
	s.expectDaemon(t, l, "after "+fault)
}

// expectDaemon checks that the one automatic daemon is the one last
// seen: a daemon that exits (a crash, a stop) without being killed by
// the test is a failure.
func (s *soakStack) expectDaemon(t *testing.T, l *ledger, when string) {
	t.Helper()
	pids := daemonPIDs(t, s.ej.Load().RunDir)
	if len(pids) != 1 || pids[0] != s.daemon {
		l.problem("%s: daemons %v run, want only %d (the daemon changed with no kill)", when, pids, s.daemon)
		if len(pids) == 1 {
			s.daemon = pids[0]
		}
	}
}

// killDaemon SIGKILLs the automatic daemon and waits until the extauth
// processes have started another one.
func (s *soakStack) killDaemon(t *testing.T, l *ledger) string {
	t.Helper()
	old := s.daemon
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		l.problem("kill the daemon %d: %v", old, err)
		return ""
	}
	killed := time.Now()
	var pids []int
	if !eventually(t, 30*time.Second, func() bool {
		pids = daemonPIDs(t, s.ej.Load().RunDir)
		return len(pids) == 1 && pids[0] != old
	}) {
		l.problem("no new daemon 30s after the kill of %d: %v", old, pids)
		return ""
	}
	back := time.Since(killed)
	if back > daemonBack {
		l.problem("the daemon was back %s after the kill of %d, want within %s", back.Round(time.Millisecond), old, daemonBack)
	}
	s.daemon = pids[0]
	return fmt.Sprintf("pid %d, then %d after %s", old, s.daemon, back.Round(time.Millisecond))
}

// daemonAfterRestart waits, on a stack in containers, for the daemon that
// replaces the one ended with ejabberd's restart, as ejabberd's systemd
// unit ends it: the traffic's next request starts another.
func (s *soakStack) daemonAfterRestart(t *testing.T, l *ledger) string {
	t.Helper()
	old := s.daemon
	var pids []int
	if !eventually(t, 30*time.Second, func() bool {
		pids = daemonPIDs(t, s.ej.Load().RunDir)
		return len(pids) == 1 && pids[0] != old
	}) {
		l.problem("no new daemon 30s after ejabberd's container ended daemon %d: %v", old, pids)
		return ""
	}
	s.daemon = pids[0]
	return fmt.Sprintf("daemon %d ended with ejabberd's container, then %d", old, s.daemon)
}

// brokenConfigs are ways an operator breaks the config file.
func (s *soakStack) brokenConfigs() []struct{ name, body string } {
	return []struct{ name, body string }{
		{"YAML syntax", s.goodCfg + "token: [unclosed\n"},
		{"missing key file", strings.Replace(s.goodCfg, s.keyPath, s.keyPath+".missing", 1)},
		{"invalid value", s.goodCfg + "serve:\n  request_timeout: -1s\n"},
		{"unknown key", s.goodCfg + "tokn:\n  secret: x\n"},
	}
}

// badReload writes a broken config file and sends SIGHUP to serve and the
// daemon (which also follows the file by itself): each must log that it
// refused the reload and keep answering on its running settings, as the
// traffic checks meanwhile (the reloads have no window). Then the good
// file comes back with another SIGHUP.
func (s *soakStack) badReload(t *testing.T, l *ledger, rng *rand.Rand) string {
	t.Helper()
	broken := pick(rng, s.brokenConfigs())
	serveBefore := len(logLines(t, s.serveLog, "reload refused"))
	daemonBefore := len(logLines(t, s.logPath, "extauth-daemon", "reload refused"))
	s.configBroken.Store(true)
	s.replaceConfig(t, broken.body)
	s.hup(t, l)
	if !eventually(t, 10*time.Second, func() bool {
		return len(logLines(t, s.serveLog, "reload refused")) > serveBefore &&
			len(logLines(t, s.logPath, "extauth-daemon", "reload refused")) > daemonBefore
	}) {
		l.problem("broken config (%s): serve refused %d reloads, the daemon %d; want a logged refusal from each",
			broken.name, len(logLines(t, s.serveLog, "reload refused"))-serveBefore,
			len(logLines(t, s.logPath, "extauth-daemon", "reload refused"))-daemonBefore)
	}
	sleepFor(time.Duration(500+rng.Intn(2000)) * time.Millisecond) // the old settings keep answering
	s.goodReload(t, l)
	s.configBroken.Store(false)
	return broken.name
}

// goodReload rewrites the good config file and sends SIGHUP: serve and
// the daemon must each log a reload that took effect.
func (s *soakStack) goodReload(t *testing.T, l *ledger) {
	t.Helper()
	serveBefore := len(logLines(t, s.serveLog, "reloaded", "generation="))
	daemonBefore := len(logLines(t, s.logPath, "extauth-daemon", "reloaded settings and keys"))
	s.replaceConfig(t, s.goodCfg)
	s.hup(t, l)
	if !eventually(t, 10*time.Second, func() bool {
		return len(logLines(t, s.serveLog, "reloaded", "generation=")) > serveBefore &&
			len(logLines(t, s.logPath, "extauth-daemon", "reloaded settings and keys")) > daemonBefore
	}) {
		l.problem("good config: serve logged %d reloads, the daemon %d; want one from each",
			len(logLines(t, s.serveLog, "reloaded", "generation="))-serveBefore,
			len(logLines(t, s.logPath, "extauth-daemon", "reloaded settings and keys"))-daemonBefore)
	}
}

// replaceConfig puts body in the config file at once (rename), as
// deployment tools do, so no reader sees half a file.
func (s *soakStack) replaceConfig(t *testing.T, body string) {
	t.Helper()
	tmp := s.cfgPath + ".new"
	writeFileT(t, tmp, body)
	if err := os.Rename(tmp, s.cfgPath); err != nil {
		t.Fatal(err)
	}
}

func (s *soakStack) hup(t *testing.T, l *ledger) {
	t.Helper()
	if err := s.srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		l.problem("SIGHUP serve: %v", err)
	}
	if err := syscall.Kill(s.daemon, syscall.SIGHUP); err != nil {
		l.problem("SIGHUP the daemon %d: %v", s.daemon, err)
	}
}

// Kinds of attempts. The first four are right credentials, which must be
// accepted outside the windows; every other kind must never be accepted.
const (
	kindPassword       = "password"         // a right password
	kindToken          = "token"            // a token from the session API, its first use
	kindIsuser         = "isuser"           // isuser / user_exists of an account
	kindSession        = "session"          // a new signed session request of an account
	kindWrongPassword  = "wrong-password"   // a wrong password, or a refused account's right one
	kindTokenReplay    = "token-replay"     // a token that signed in already, on any path, at any later time
	kindTokenForged    = "token-forged"     // a token with an altered signature
	kindTokenOtherUser = "token-other-user" // a token used as another account
	kindIsuserUnknown  = "isuser-unknown"   // isuser of a name that is no account
	kindSessionReplay  = "session-replay"   // a signed request that got its session already
	kindSessionRefused = "session-refused"  // a session for an account the rules refuse
)

var rightKinds = []string{kindPassword, kindToken, kindIsuser, kindSession}

var wrongKinds = []string{kindWrongPassword, kindTokenReplay, kindTokenForged, kindTokenOtherUser,
	kindIsuserUnknown, kindSessionReplay, kindSessionRefused}

func isRight(kind string) bool {
	for _, k := range rightKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// attempt is one request of the soak and how it ended.
type attempt struct {
	kind, path, user string
	key              string // the token or signed request, for counting acceptances of one
	start, end       time.Time
	accepted         bool
	detail           string
}

func (a attempt) hung() bool { return a.end.Sub(a.start) >= hangThreshold }

// window is one fault, from its start to its end.
type window struct {
	fault      string
	start, end time.Time
	detail     string
}

// ledger records every attempt and fault of a run, and problems found
// on the way.
type ledger struct {
	mu         sync.Mutex
	begin, end time.Time
	attempts   []attempt
	windows    []window
	problems   []string
	notes      []time.Time // when the shared record became whole (the note's own time)
}

// noteWritten records that the shared record became whole at t.
func (l *ledger) noteWritten(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, t)
}

// whole returns when the record became whole after the Redis restart w:
// the first note written after w started, or w's end if none was.
func (l *ledger) whole(w window) time.Time {
	end := w.end
	for _, t := range l.notes {
		if !t.Before(w.start) {
			if t.After(end) {
				end = t
			}
			break
		}
	}
	return end
}

func newLedger() *ledger { return &ledger{begin: time.Now()} }

func (l *ledger) add(a attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, a)
}

func (l *ledger) addWindow(w window) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.windows = append(l.windows, w)
}

// problem records a failure found during the run; evaluate reports it.
func (l *ledger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// excuse returns the fault whose window covers a refusal of a, or "".
func (l *ledger) excuse(a attempt) string {
	for _, w := range l.windows {
		rule, ok := soakWindows[w.fault]
		end := w.end
		if w.fault == faultRedis {
			end = l.whole(w)
		}
		if ok && rule.affects(a) && overlaps(a, w.start, end.Add(rule.allowance)) {
			return w.fault
		}
	}
	return ""
}

func overlaps(a attempt, from, to time.Time) bool { return !a.start.After(to) && !a.end.Before(from) }

// tally counts the attempts of one kind (and path).
type tally struct {
	attempts, accepted, inWindow, outside, hangs int
	exposed                                      int // right attempts inside a window that affects them
}

func (c tally) String() string {
	return fmt.Sprintf("%d attempts, %d accepted, %d refused in a window, %d refused outside, %d hung",
		c.attempts, c.accepted, c.inWindow, c.outside, c.hangs)
}

// evaluate checks every attempt against its expectation and the windows,
// fails the test for each wrong answer, and prints the run's figures.
func (l *ledger) evaluate(t *testing.T, dur time.Duration, seed int64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	byKind, byPath := map[string]*tally{}, map[string]*tally{}
	uses := map[string]int{} // acceptances per token / signed request
	excused := map[string]int{}
	var wrong, outside, hangs []string
	for _, a := range l.attempts {
		k, kp := count(byKind, a.kind), count(byPath, a.kind+" "+a.path)
		k.attempts++
		kp.attempts++
		if isRight(a.kind) && l.excuse(a) != "" {
			k.exposed++
		}
		at := a.start.Sub(l.begin).Seconds()
		describe := fmt.Sprintf("%7.2fs +%s %s %s %s: %s", at, a.end.Sub(a.start).Round(time.Millisecond), a.kind, a.path, a.user, a.detail)
		switch {
		case a.accepted:
			k.accepted++
			kp.accepted++
			if a.key != "" && a.kind != kindTokenOtherUser {
				uses[a.key]++
			}
			if !isRight(a.kind) {
				wrong = append(wrong, describe)
			}
		case a.hung():
			k.hangs++
			kp.hangs++
			hangs = append(hangs, describe)
		case !isRight(a.kind):
		case l.excuse(a) != "":
			k.inWindow++
			kp.inWindow++
			excused[l.excuse(a)]++
		default:
			k.outside++
			kp.outside++
			outside = append(outside, describe+" (nearest fault: "+l.nearest(a)+")")
		}
	}
	twice := 0
	for _, n := range uses {
		if n > 1 {
			twice++
		}
	}
	l.report(t, dur, seed, byKind, byPath, excused)

	fail := func(what string, list []string) {
		if len(list) > 0 {
			t.Errorf("%d %s, e.g.:\n  %s", len(list), what, strings.Join(list[:min(len(list), 15)], "\n  "))
		}
	}
	fail("wrong answers accepted", wrong)
	fail("right credentials refused outside every fault window", outside)
	// A request in flight when the daemon dies is decided by the extauth
	// process that forwarded it: none may hang, whatever the fault.
	fail("requests hung", hangs)
	fail("problems during the run", append(l.problems, l.strayNotes()...))
	if twice > 0 {
		t.Errorf("%d tokens or signed requests were accepted more than once", twice)
	}
	for _, kind := range rightKinds {
		for _, path := range pathsOf(kind) {
			if c := byPath[kind+" "+path]; c == nil || c.accepted == 0 {
				t.Errorf("no %s was accepted through %s: the run proves nothing there", kind, path)
			}
		}
	}
	for _, kind := range wrongKinds {
		if byKind[kind] == nil {
			t.Errorf("no %s was tried", kind)
		}
	}
}

// strayNotes lists the times the shared record was marked whole anew
// with no Redis restart to explain it (each restart explains one): such
// a note refuses every token and session request issued before it.
func (l *ledger) strayNotes() []string {
	var out []string
	claimed := map[int]bool{}
	for _, n := range l.notes {
		if n.Before(l.begin) {
			continue // the first note, at start
		}
		w := -1
		for i, win := range l.windows {
			if win.fault == faultRedis && !win.start.After(n) {
				w = i
			}
		}
		if w < 0 || claimed[w] {
			out = append(out, fmt.Sprintf("the shared record was marked whole anew at %.1fs with no Redis restart since the last note", n.Sub(l.begin).Seconds()))
			continue
		}
		claimed[w] = true
	}
	return out
}

func pathsOf(kind string) []string {
	switch kind {
	case kindIsuser:
		return []string{pathExtauth, pathHTTP}
	case kindSession:
		return []string{pathSession}
	}
	return signInPaths
}

func count(m map[string]*tally, key string) *tally {
	if m[key] == nil {
		m[key] = &tally{}
	}
	return m[key]
}

// nearest names the fault closest in time to a, for the failure report.
func (l *ledger) nearest(a attempt) string {
	best, name := time.Duration(1<<62), "none"
	for _, w := range l.windows {
		d := a.start.Sub(w.end)
		if a.start.Before(w.end) {
			d = w.start.Sub(a.end)
		}
		if d < 0 {
			d = 0
		}
		if d < best {
			best, name = d, fmt.Sprintf("%s %.1fs–%.1fs", w.fault, w.start.Sub(l.begin).Seconds(), w.end.Sub(l.begin).Seconds())
		}
	}
	return name
}

// report prints the figures of the run: a table per kind and path, and
// one summary line.
func (l *ledger) report(t *testing.T, dur time.Duration, seed int64, byKind, byPath map[string]*tally, excused map[string]int) {
	t.Helper()
	faults := map[string]int{}
	var covered time.Duration
	var last time.Time
	for _, w := range l.windows {
		faults[w.fault]++
		rule, ok := soakWindows[w.fault]
		if !ok {
			continue
		}
		from, to := w.start, w.end.Add(rule.allowance)
		if from.Before(last) {
			from = last
		}
		if to.After(from) {
			covered += to.Sub(from)
			last = to
		}
	}
	keys := make([]string, 0, len(byPath))
	for k := range byPath {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %8s %8s %9s %8s %6s\n", "kind path", "attempts", "accepted", "in-window", "outside", "hung")
	for _, k := range keys {
		c := byPath[k]
		fmt.Fprintf(&b, "%-28s %8d %8d %9d %8d %6d\n", k, c.attempts, c.accepted, c.inWindow, c.outside, c.hangs)
	}
	t.Logf("attempts by kind and path:\n%s", b.String())

	var parts []string
	for _, k := range append(append([]string{}, rightKinds...), wrongKinds...) {
		if c := byKind[k]; c != nil {
			parts = append(parts, fmt.Sprintf("%s %d/%d accepted (%d in window, %d outside, %d hung; %d sent inside a window)",
				k, c.accepted, c.attempts, c.inWindow, c.outside, c.hangs, c.exposed))
		}
	}
	var fs, ex []string
	for _, f := range soakFaults {
		fs = append(fs, fmt.Sprintf("%s=%d", f, faults[f]))
	}
	for _, f := range []string{faultDBCut, faultRedis, faultDaemonKill, faultEjabberd} {
		ex = append(ex, fmt.Sprintf("%s=%d", f, excused[f]))
	}
	t.Logf("FAULT SOAK %s seed=%d: %d attempts; %s; faults: %s; right credentials refused in a window, by fault: %s; %.0f%% of the run inside some window; shared record marked whole %d times",
		dur, seed, len(l.attempts), strings.Join(parts, "; "), strings.Join(fs, " "), strings.Join(ex, " "), 100*covered.Seconds()/dur.Seconds(), len(l.notes))
}
