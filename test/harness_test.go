package test

import (
	"bufio"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"livechat-auth/test/harness"
)

// binPath is the livechat-auth binary built by TestMain for this run.
var binPath string

func TestMain(m *testing.M) {
	harness.RemoveLeftovers()
	dir, err := os.MkdirTemp("", "livechat-auth-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binPath = filepath.Join(dir, "livechat-auth")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/livechat-auth")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build livechat-auth:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need is the harness rule: skip locally, fail under CI.
var need = harness.Need

// stack is where this run's chat servers run: this machine's (Debian 12)
// or Debian 13's in containers ($LIVECHAT_AUTH_TEST_STACK=debian13).
var stack = harness.CurrentStack()

// randomName returns prefix followed by random hex.
func randomName(prefix string) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something accepts connections on port, or the
// process behind it exits (exited is closed), or the timeout passes.
func waitPort(t testing.TB, port int, exited <-chan struct{}, timeout time.Duration, logHint string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("server exited before listening on %d; see %s", port, logHint)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listening on %d after %s; see %s", port, timeout, logHint)
}

// wiki is one test's Tiki database, loaded with the fixture.
type wiki struct {
	Name      string  // database name
	Root      *sql.DB // a privileged connection to it, for changing the fixture
	ReaderDSN string  // DSN of a user with SELECT only, for livechat-auth
	Addr      string  // host:port of the server
}

func rootDSN() string {
	if dsn := os.Getenv("LIVECHAT_AUTH_TEST_ROOT_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// newWiki creates a database with the Tiki-shaped schema and fixture and a
// SELECT-only user for it; both are dropped when the test ends.
func newWiki(t testing.TB) *wiki {
	t.Helper()
	cfg, err := mysql.ParseDSN(rootDSN())
	if err != nil {
		t.Fatalf("LIVECHAT_AUTH_TEST_ROOT_DSN: %v", err)
	}
	cfg.MultiStatements = true
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	need(t, "MariaDB", admin.Ping() == nil, "start it: mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql")

	w := &wiki{Name: randomName("lca_test_"), Addr: cfg.Addr}
	reader, password := randomName("lca_ro_"), randomName("pw")
	mustExec(t, admin, "CREATE DATABASE "+w.Name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + w.Name) // best effort: the test is over
		_, _ = admin.Exec("DROP USER IF EXISTS '" + reader + "'@'%'")
	})
	mustExec(t, admin, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", reader, password))
	mustExec(t, admin, fmt.Sprintf("GRANT SELECT ON %s.* TO '%s'@'%%'", w.Name, reader))

	cfg.DBName = w.Name
	w.Root, err = sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Root.Close() })
	for _, f := range []string{"fixture/schema.sql", "fixture/users.sql"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, w.Root, string(data))
	}
	rc := mysql.NewConfig()
	rc.User, rc.Passwd, rc.Net, rc.Addr, rc.DBName = reader, password, cfg.Net, cfg.Addr, w.Name
	w.ReaderDSN = rc.FormatDSN()
	return w
}

func mustExec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%.60s…: %v", query, err)
	}
}

// account is one sign-in from fixture/accounts.json.
type account struct {
	Login    string `json:"login"`
	User     string `json:"user"`
	Password string `json:"password"`
	HashKind string `json:"hash_kind"`
	Expect   string `json:"expect"` // "accepted" or a reason code
}

func loadAccounts(t testing.TB) []account {
	t.Helper()
	data, err := os.ReadFile("fixture/accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	var accounts []account
	if err := json.Unmarshal(data, &accounts); err != nil {
		t.Fatal(err)
	}
	return accounts
}

// writeConfig writes a livechat-auth config file for the wiki and returns
// its path and the log file the program writes.
func writeConfig(t testing.TB, dir, dsn string, domains []string, extra string) (cfgPath, logPath string) {
	t.Helper()
	logPath = filepath.Join(dir, "livechat-auth.log")
	cfgPath = filepath.Join(dir, "livechat-auth.yaml")
	body := fmt.Sprintf("domains: [%s]\nwiki:\n  dsn: %q\nlog:\n  level: debug\n  file: %q\n%s",
		strings.Join(domains, ", "), dsn, logPath, extra)
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, logPath
}

// logLines returns the lines of a log file that contain every one of
// the given strings.
func logLines(t testing.TB, path string, contains ...string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		all := true
		for _, c := range contains {
			all = all && strings.Contains(line, c)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// have reports whether an executable exists.
func have(path string) bool {
	_, err := exec.LookPath(path)
	return err == nil
}

// needBrowser is the harness rule for the tests that drive headless
// Chromium through playwright-core (test/browser).
func needBrowser(t testing.TB) {
	t.Helper()
	need(t, "chromium", have("/usr/bin/chromium"), "apt-get install chromium")
	need(t, "node", have("node"), "install Node.js")
	_, err := os.Stat("browser/node_modules/playwright-core")
	need(t, "playwright-core", err == nil, "cd test/browser && npm ci")
}
