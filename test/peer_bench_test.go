package test

import (
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"livechat-auth/xmpp/extauth"
)

// startPythonPeer starts testdata/extauth_pymysql.py, the hand-written
// extauth program operators write (one SELECT per request, no cache), on
// the wiki's database with its SELECT-only user.
func startPythonPeer(t testing.TB, w *wiki, domain string) *extauthProcess {
	t.Helper()
	py := "/usr/bin/python3"
	need(t, "python3-pymysql", exec.Command(py, "-c", "import pymysql").Run() == nil, "apt-get install python3-pymysql")
	cfg, err := mysql.ParseDSN(w.ReaderDSN)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return startExtauthArgv(t, []string{py, "testdata/extauth_pymysql.py"},
		"PEER_DB_HOST="+host, "PEER_DB_PORT="+port, "PEER_DB_USER="+cfg.User,
		"PEER_DB_PASSWORD="+cfg.Passwd, "PEER_DB_NAME="+cfg.DBName, "PEER_DOMAIN="+domain)
}

// BenchmarkExtauthPeer compares one extauth request over pipes, the way
// ejabberd talks to its extauth program, between livechat-auth (default
// settings, info log to a file: the process relays to its automatic
// daemon), the hand-written Python peer, the always-yes program and
// livechat-auth deciding alone (extauth.daemon_socket: off), interleaved
// request by request so that the machine's noise falls on all alike. It
// prints each one's µs per request and the ratios: x-python is the Python
// peer's time over livechat-auth's (how many times faster livechat-auth
// is), alone-x-python the same for the process deciding alone, over-yes
// livechat-auth's time over the always-yes program's.
//
//	go test ./test -run '^$' -bench ExtauthPeer -count 2
func BenchmarkExtauthPeer(b *testing.B) {
	yes := filepath.Join(b.TempDir(), "yesauth")
	if out, err := exec.Command("go", "build", "-o", yes, "./testdata/yesauth").CombinedOutput(); err != nil {
		b.Fatalf("build yesauth: %v\n%s", err, out)
	}
	w := newWiki(b)
	cases := []struct {
		name string
		req  extauth.Request
	}{
		{"isuser", extauth.Request{Command: "isuser", User: "alice", Server: "chat.test"}},
		// md5: the peer's cheapest check, one SELECT and one md5.
		{"auth-repeat-md5", extauth.Request{Command: "auth", User: "frank", Server: "chat.test", Password: "frank-pw-md5"}},
		// bcrypt-10, Tiki's default: the peer pays it on every request.
		{"auth-repeat-bcrypt", extauth.Request{Command: "auth", User: "alice", Server: "chat.test", Password: "alice-pw-1"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			env := []string{"LIVECHAT_AUTH_WIKI_DSN=" + w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test", "LIVECHAT_AUTH_LOG_LEVEL=info"}
			programs := []*extauthProcess{
				startExtauthProgram(b, binPath, env...),
				startPythonPeer(b, w, "chat.test"),
				startExtauthProgram(b, yes),
				startExtauthProgram(b, binPath, append(env, "LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET=off")...),
			}
			frame, err := extauth.AppendRequest(nil, c.req)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range []*extauthProcess{programs[0], programs[1], programs[3]} {
				if !p.askRaw(b, frame) { // and warm up
					b.Fatalf("%s refused %s", p.cmd.Path, c.name)
				}
			}
			var spent [4]time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range programs {
					k := (k + i) % len(programs) // take turns going first
					start := time.Now()
					if !programs[k].askRaw(b, frame) {
						b.Fatalf("%s refused %s", programs[k].cmd.Path, c.name)
					}
					spent[k] += time.Since(start)
				}
			}
			us := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(b.N) }
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(us(spent[0]), "µs/livechat")
			b.ReportMetric(us(spent[1]), "µs/python")
			b.ReportMetric(us(spent[2]), "µs/yes")
			b.ReportMetric(us(spent[3]), "µs/alone")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "x-python")
			b.ReportMetric(float64(spent[0])/float64(spent[2]), "over-yes")
			b.ReportMetric(float64(spent[1])/float64(spent[3]), "alone-x-python")
		})
	}
}
