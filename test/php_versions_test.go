package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"livechat-auth/test/harness"
)

// phpRuntime is a PHP that the wiki's example pages must run under.
type phpRuntime struct {
	name    string
	version string // PHP_VERSION's major.minor
	// command returns php with args, run in dir with env added.
	command func(t *testing.T, dir string, env []string, args ...string) *exec.Cmd
}

// hostPHP is this machine's php (Debian 12's 8.2).
func hostPHP(t *testing.T) phpRuntime {
	need(t, "php", have("php"), "apt-get install php-cli")
	debian12 := harness.Stack{Name: harness.Debian12}
	return phpRuntime{name: "host", version: "8.2", command: func(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
		return debian12.CommandIn(t, dir, append(os.Environ(), env...), "php", args...)
	}}
}

// debian13PHP is Debian 13's php (8.4) in a container of the Debian 13
// stack's image.
func debian13PHP(t *testing.T) phpRuntime {
	debian13 := harness.Stack{Name: harness.Debian13, Image: harness.Debian13Image}
	debian13.Need(t, "php", "apt-get install php-cli")
	return phpRuntime{name: "debian13", version: "8.4", command: func(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
		return debian13.CommandIn(t, dir, env, "php", args...)
	}}
}

// TestExamplesPHPVersions: every PHP file of examples/tiki passes php -l,
// and the credentials endpoint, run by PHP's built-in server, gets a
// session from a real serve (a signed request) and hands out a token that
// signs alice in, and passes an unmigrated account's refusal on, under
// PHP 8.2 and PHP 8.4.
func TestExamplesPHPVersions(t *testing.T) {
	files, err := filepath.Glob(mustAbs(t, "../examples/tiki") + "/*.php")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples/tiki has %d PHP files (%v)", len(files), err)
	}
	w := newWiki(t)
	sessionKey := randomHex(t, 32)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, fmt.Sprintf(
		"token:\n  signing_key_file: %q\nsession:\n  key: %q\n  migration_url: https://wiki.test/tiki-livechat_migration.php\n",
		keygen(t, "ES256"), sessionKey))
	srv := startServe(t, cfgPath)

	for _, r := range []struct {
		name    string
		runtime func(*testing.T) phpRuntime
	}{{"php8.2-host", hostPHP}, {"php8.4-debian13", debian13PHP}} {
		t.Run(r.name, func(t *testing.T) {
			php := r.runtime(t)
			checkPHPVersion(t, php)
			for _, f := range files {
				checkLint(t, php, f, true)
			}
			broken := filepath.Join(t.TempDir(), "broken.php")
			if err := os.WriteFile(broken, []byte("<?php\nfunction (\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			checkLint(t, php, broken, false)
			checkCredentials(t, php, srv.URL, sessionKey, cfgPath)
		})
	}
}

func checkPHPVersion(t *testing.T, php phpRuntime) {
	t.Helper()
	out, err := php.command(t, os.TempDir(), nil, "-r", "echo PHP_VERSION;").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), php.version+".") {
		t.Fatalf("%s: PHP_VERSION %q (%v), want %s.x", php.name, out, err, php.version)
	}
}

// checkLint runs php -l on file; valid says whether it must pass.
func checkLint(t *testing.T, php phpRuntime, file string, valid bool) {
	t.Helper()
	out, err := php.command(t, filepath.Dir(file), nil, "-l", file).CombinedOutput()
	passed := err == nil && strings.Contains(string(out), "No syntax errors detected")
	if passed != valid {
		t.Errorf("php %s -l %s: passed %v, want %v:\n%s", php.version, filepath.Base(file), passed, valid, out)
	}
}

// checkCredentials serves the credentials endpoint as the demo does and
// asks it for alice (migrated) and rupert (no livechat_id).
func checkCredentials(t *testing.T, php phpRuntime, serveURL, sessionKey, cfgPath string) {
	t.Helper()
	docroot := t.TempDir()
	for _, name := range []string{"livechat-credentials.php", "livechat-client.php"} {
		if err := os.Symlink(mustAbs(t, "../examples/tiki/"+name), filepath.Join(docroot, name)); err != nil {
			t.Fatal(err)
		}
	}
	alice := servePHP(t, php, docroot, serveURL, sessionKey, "alice")
	status, body := fetch(t, http.MethodGet, alice+"/livechat-credentials.php", "", nil)
	var c struct{ JID, Nickname, Password string }
	if err := json.Unmarshal([]byte(body), &c); err != nil || status != http.StatusOK ||
		c.JID != "alice@chat.test" || c.Nickname != "Alice Liddell" || strings.Count(c.Password, ".") != 2 {
		t.Fatalf("credentials for alice: %d %s (%v)", status, body, err)
	}
	check := exec.Command(binPath, "check", "--config", cfgPath, c.JID)
	check.Stdin = strings.NewReader(c.Password + "\n")
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "allowed: alice@chat.test") {
		t.Errorf("the token from PHP %s does not sign alice in: %v\n%s", php.version, err, out)
	}
	if status, body := fetch(t, http.MethodGet, alice+"/livechat-credentials.php?profile", "", nil); status != http.StatusOK || strings.Contains(body, "password") {
		t.Errorf("?profile: %d %s, want the profile without a password", status, body)
	}

	rupert := servePHP(t, php, docroot, serveURL, sessionKey, "rupert")
	status, body = fetch(t, http.MethodGet, rupert+"/livechat-credentials.php", "", nil)
	var refusal struct {
		Error        string
		MigrationURL string `json:"migration_url"`
	}
	if err := json.Unmarshal([]byte(body), &refusal); err != nil || status != http.StatusConflict ||
		refusal.Error != "unmigrated" || refusal.MigrationURL != "https://wiki.test/tiki-livechat_migration.php" {
		t.Errorf("credentials for rupert (unmigrated): %d %s (%v)", status, body, err)
	}
}

// servePHP runs PHP's built-in server on docroot with user logged in (the
// example's demo mode) and returns its URL.
func servePHP(t *testing.T, php phpRuntime, docroot, serveURL, sessionKey, user string) string {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := php.command(t, docroot, []string{"LIVECHAT_AUTH_URL=" + serveURL, "LIVECHAT_AUTH_SESSION_KEY=" + sessionKey, "LIVECHAT_DEMO_USER=" + user},
		"-S", addr, "-t", docroot)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("php -S as %s (%s):\n%s", user, php.name, log.String())
		}
	})
	startProcess(t, cmd, port, "php -S ("+php.name+")")
	return "http://" + addr
}
