package test

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The users docs/tiki.md's pool involves, as this host stands for them:
// the pool's own user tiki is nobody (group nogroup), an unprivileged user
// that is not the web server's; the web server's is www-data, as in the
// pool's listen.owner; daemon is any other local user.
const (
	poolUser    = "nobody"
	poolGroup   = "nogroup"
	webUser     = "www-data"
	anotherUser = "daemon"
)

// lookupIDs returns a user's uid and primary gid.
func lookupIDs(t *testing.T, name string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	need(t, "user "+name, err == nil, "a Debian system has it: adduser --system "+name)
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		t.Fatal(err)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return uid, gid
}

// checkPool tries docs/tiki.md's claims about who gets the session key
// on the pool's socket itself, with a FastCGI client of its own: the web
// server's user gets it from a PHP file in the wiki's folder, as every
// page of the wiki does, and from that page the pool runs as its own
// user; it does not get it from a script outside the folder (the
// review's /tmp/evil.php); another local user cannot connect at all. And
// the limit the page states: a client of the socket that sets
// open_basedir itself does get it, which is why nothing but the web
// server may run as www-data.
func checkPool(t *testing.T, st *chatStack) {
	webUID, webGID := lookupIDs(t, webUser)
	poolUID, _ := lookupIDs(t, poolUser)
	otherUID, otherGID := lookupIDs(t, anotherUser)
	const echo = "<?php echo 'key=', getenv('LIVECHAT_AUTH_SESSION_KEY'), ' uid=', function_exists('posix_geteuid') ? posix_geteuid() : 'unknown';\n"
	inside := filepath.Join(st.docroot, "echo-key.php")
	outside := filepath.Join(st.web, "evil.php") // beside the wiki's folder, readable by all
	for _, path := range []string{inside, outside} {
		if err := os.WriteFile(path, []byte(echo), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(path) })
	}
	ask := func(t *testing.T, script string, extra map[string]string) (stdout, stderr string) {
		t.Helper()
		conn, err := dialUnixAs(st.socket, webUID, webGID)
		if err != nil {
			t.Fatalf("connect to the pool as %s: %v", webUser, err)
		}
		params := map[string]string{
			"GATEWAY_INTERFACE": "CGI/1.1",
			"REQUEST_METHOD":    "GET",
			"SCRIPT_FILENAME":   script,
			"SCRIPT_NAME":       "/" + filepath.Base(script),
			"REQUEST_URI":       "/" + filepath.Base(script),
			"SERVER_PROTOCOL":   "HTTP/1.1",
		}
		for k, v := range extra {
			params[k] = v
		}
		stdout, stderr, err = fastCGIRequest(conn, params)
		if err != nil {
			t.Fatalf("FastCGI request for %s: %v\nstdout: %s\nstderr: %s", script, err, stdout, stderr)
		}
		return stdout, stderr
	}
	key := "key=" + st.sessionKey

	t.Run("a page of the wiki gets the key, as the pool's user", func(t *testing.T) {
		stdout, stderr := ask(t, inside, nil)
		if !strings.Contains(stdout, key) {
			t.Fatalf("no key from %s:\n%s\n%s", inside, stdout, stderr)
		}
		if want := " uid=" + strconv.Itoa(poolUID); !strings.Contains(stdout, want) {
			t.Errorf("the pool does not run as %s (uid %d): %s", poolUser, poolUID, strings.ReplaceAll(stdout, st.sessionKey, "[key]"))
		}
	})
	t.Run("a script outside the wiki's folder does not", func(t *testing.T) {
		stdout, stderr := ask(t, outside, nil)
		if strings.Contains(stdout, st.sessionKey) || strings.Contains(stderr, st.sessionKey) {
			t.Fatalf("%s, outside the wiki's folder, got the key", outside)
		}
		if !strings.Contains(stdout, "Status: 404") || !strings.Contains(stderr, "open_basedir") {
			t.Errorf("want open_basedir's refusal and a 404, got:\n%s\n%s", stdout, stderr)
		}
	})
	t.Run("another local user cannot connect", func(t *testing.T) {
		conn, err := dialUnixAs(st.socket, otherUID, otherGID)
		if err == nil {
			conn.Close()
			t.Fatalf("%s connected to the pool's socket", anotherUser)
		}
		if !errors.Is(err, syscall.EACCES) {
			t.Fatalf("%s: %v, want permission denied", anotherUser, err)
		}
	})
	t.Run("the stated limit: a client that sets open_basedir gets it", func(t *testing.T) {
		stdout, stderr := ask(t, outside, map[string]string{"PHP_VALUE": "open_basedir = /"})
		if !strings.Contains(stdout, key) {
			t.Fatalf("php-fpm no longer takes open_basedir from a FastCGI client (%s %s): docs/tiki.md can say less about www-data", strings.TrimSpace(stdout), stderr)
		}
	})
}
