package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDoctorServeSecrets: doctor --as the chat server's user names, as
// FAIL, each private signing key and session key that user can read
// (through the other users' bits or through its group), as WARN the
// status page's password and an HS256 secret its own config verifies
// with, never their contents; with serve's secrets readable by serve's
// user alone (README's production layout) it says so and fails nothing,
// and the chat server's config, holding the public key only, verifies
// tokens and answers through the extauth framing.
func TestDoctorServeSecrets(t *testing.T) {
	need(t, "root", os.Geteuid() == 0, "run as root to check as another user")
	nobody, err := user.Lookup("nobody")
	need(t, "user nobody", err == nil, "a system without a user nobody: adduser --system nobody")
	chatGID, _ := strconv.Atoi(nobody.Gid) // the chat server's group, as README's layout gives it
	w := newWiki(t)

	// A folder and program every user may reach, as /etc/livechat-auth
	// and /usr/local/bin are.
	dir, err := os.MkdirTemp("", "livechat-auth-secrets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "livechat-auth")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("keygen", "--alg", "ES256", "--out", path("signing.pem"), "--public-out", path("signing.pub.pem"))
	run("keygen", "--alg", "secret", "--out", path("session.key"))
	run("keygen", "--alg", "secret", "--out", path("status.secret"))
	run("keygen", "--alg", "secret", "--out", path("token.secret"))
	write := func(name string, mode os.FileMode, gid int, body string) string {
		t.Helper()
		if err := os.WriteFile(path(name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path(name), 0, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path(name), mode); err != nil {
			t.Fatal(err)
		}
		return path(name)
	}
	set := func(mode os.FileMode, gid int, names ...string) {
		t.Helper()
		for _, n := range names {
			if err := os.Chown(path(n), 0, gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path(n), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	head := fmt.Sprintf("domains: [chat.test]\nwiki:\n  dsn: %q\n", w.ReaderDSN)
	serveCfg := write("config.yaml", 0o600, 0, head+fmt.Sprintf(
		"token:\n  signing_key_file: %q\nsession:\n  key_file: %q\nstatus:\n  listen: 127.0.0.1:%d\n  secret_file: %q\n",
		path("signing.pem"), path("session.key"), freePort(t), path("status.secret")))
	chatCfg := write("extauth.yaml", 0o640, chatGID, head+fmt.Sprintf("token:\n  public_key_files: [%q]\n", path("signing.pub.pem")))
	secrets := map[string]string{}
	for _, n := range []string{"signing.pem", "session.key", "status.secret", "token.secret"} {
		b, err := os.ReadFile(path(n))
		if err != nil {
			t.Fatal(err)
		}
		secrets[n] = string(b)
	}
	noSecrets := func(t *testing.T, out string) {
		t.Helper()
		for n, s := range secrets {
			for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
				if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(out, line) {
					t.Errorf("doctor printed the contents of %s", n)
				}
			}
		}
	}

	t.Run("readable by the chat server", func(t *testing.T) {
		set(0o644, 0, "signing.pem", "status.secret") // every user
		set(0o640, chatGID, "session.key")            // the chat server's group
		out, code := runDoctor(t, bin, "--config", chatCfg, "--serve-config", serveCfg, "--as", "nobody")
		wantLines(t, out,
			"FAIL nobody can read the private signing key: token.signing_key_file "+path("signing.pem")+" (mode 0644",
			"chown livechat-auth "+path("signing.pem")+" && chmod 600 "+path("signing.pem"),
			"FAIL nobody can read the session key: session.key_file "+path("session.key")+" (mode 0640",
			"WARN nobody can read the status page's password: status.secret_file "+path("status.secret"),
		)
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
		noSecrets(t, out)
	})

	t.Run("serve's alone", func(t *testing.T) {
		set(0o600, 0, "signing.pem", "session.key", "status.secret")
		out, code := runDoctor(t, bin, "--config", chatCfg, "--serve-config", serveCfg, "--as", "nobody")
		wantLines(t, out,
			"OK   config "+chatCfg+" readable and valid",
			"OK   token keys load\n", // verifies, mints nothing
			"OK   extauth framing: isuser alice@chat.test answered yes",
			"OK   serve's secrets are out of nobody's reach: token.signing_key_file, session.key_file, status.secret_file",
		)
		if strings.Contains(out, "FAIL") || strings.Contains(out, "nobody can read") {
			t.Errorf("a failure with serve's secrets out of the chat server's reach:\n%s", out)
		}
		if code > 1 {
			t.Errorf("exit %d; want at most 1 (the sample wiki's warnings)", code)
		}
	})

	t.Run("one config for both", func(t *testing.T) {
		// The old layout: ejabberd's extauth reads serve's config, and
		// everything it names, through the group.
		shared := write("shared.yaml", 0o640, chatGID, head+fmt.Sprintf(
			"token:\n  secret_file: %q\nsession:\n  key_file: %q\n", path("token.secret"), path("session.key")))
		set(0o640, chatGID, "token.secret", "session.key")
		out, code := runDoctor(t, bin, "--config", shared, "--as", "nobody")
		wantLines(t, out,
			"FAIL nobody can read the session key: session.key_file "+path("session.key"),
			"take session.key_file out of the chat server's config "+shared,
			"WARN nobody can read the HS256 token secret: token.secret_file "+path("token.secret"),
			"whoever verifies HS256 tokens can mint them for any account",
		)
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
		noSecrets(t, out)
	})
}
