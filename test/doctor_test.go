package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runDoctor runs livechat-auth doctor and returns its output and exit code.
func runDoctor(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"doctor"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("doctor output lacks %q:\n%s", l, out)
		}
	}
}

// TestDoctor: on the sample wiki with a SELECT-only user, doctor says the
// database, grant and framing are fine and warns about the accounts that
// cannot chat; a writable grant is a warning, a missing column a failure,
// and a config the chat server's user cannot read a failure when checked
// as that user.
func TestDoctor(t *testing.T) {
	w := newWiki(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{"chat.test"}, "")
	out, code := runDoctor(t, binPath, "--config", cfgPath)
	wantLines(t, out,
		"OK   config "+cfgPath+" readable and valid",
		"OK   wiki database answers",
		"OK   the database grant is read-only (SELECT)",
		"with a crypt-DES hash can never sign in",
		"without a livechat_id cannot chat until migrated",
		"OK   extauth framing: isuser alice@chat.test answered yes",
	)
	if code != 1 {
		t.Errorf("exit %d with warnings; want 1", code)
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a failure on a sound setup:\n%s", out)
	}

	t.Run("writable grant", func(t *testing.T) {
		writer, pw := randomName("lca_rw_"), randomName("pw")
		mustExec(t, w.Root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", writer, pw))
		t.Cleanup(func() { _, _ = w.Root.Exec("DROP USER IF EXISTS '" + writer + "'@'%'") })
		mustExec(t, w.Root, fmt.Sprintf("GRANT SELECT, UPDATE ON %s.* TO '%s'@'%%'", w.Name, writer))
		dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s", writer, pw, w.Addr, w.Name)
		cfg, _ := writeConfig(t, t.TempDir(), dsn, []string{"chat.test"}, "")
		out, code := runDoctor(t, binPath, "--config", cfg)
		wantLines(t, out, "WARN the database grant allows more than reading: UPDATE",
			"give it a user with GRANT SELECT ON "+w.Name+".* only") // the wiki's real database, not a placeholder
		if code != 1 {
			t.Errorf("exit %d; want 1", code)
		}
	})

	t.Run("login refused", func(t *testing.T) {
		dsn := strings.Replace(w.ReaderDSN, ":", ":not-the-password", 1)
		cfg, _ := writeConfig(t, t.TempDir(), dsn, []string{"chat.test"}, "")
		out, code := runDoctor(t, binPath, "--config", cfg)
		wantLines(t, out, "FAIL wiki database does not answer: ", "no isuser check: the wiki database did not let this user in")
		if strings.Contains(out, "extauth framing") || strings.Contains(out, "extauth gave no answer") {
			t.Errorf("the isuser check ran against a database that refused the login:\n%s", out)
		}
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
	})

	t.Run("writes through a role", func(t *testing.T) {
		role, user, pw := randomName("lca_role_"), randomName("lca_ro_"), randomName("pw")
		mustExec(t, w.Root, "CREATE ROLE "+role)
		t.Cleanup(func() { _, _ = w.Root.Exec("DROP ROLE IF EXISTS " + role) })
		mustExec(t, w.Root, fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s", w.Name, role))
		mustExec(t, w.Root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw))
		t.Cleanup(func() { _, _ = w.Root.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
		mustExec(t, w.Root, fmt.Sprintf("GRANT %s TO '%s'@'%%'", role, user))
		mustExec(t, w.Root, fmt.Sprintf("SET DEFAULT ROLE %s FOR '%s'@'%%'", role, user))
		cfg, _ := writeConfig(t, t.TempDir(), fmt.Sprintf("%s:%s@tcp(%s)/%s", user, pw, w.Addr, w.Name), []string{"chat.test"}, "")
		out, _ := runDoctor(t, binPath, "--config", cfg)
		wantLines(t, out, "WARN the database grant allows more than reading: ALL")
	})

	t.Run("a grant on users_users alone", func(t *testing.T) {
		user, pw := randomName("lca_tbl_"), randomName("pw")
		mustExec(t, w.Root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw))
		t.Cleanup(func() { _, _ = w.Root.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
		mustExec(t, w.Root, fmt.Sprintf("GRANT SELECT ON %s.users_users TO '%s'@'%%'", w.Name, user))
		cfg, _ := writeConfig(t, t.TempDir(), fmt.Sprintf("%s:%s@tcp(%s)/%s", user, pw, w.Addr, w.Name), []string{"chat.test"}, "")
		out, code := runDoctor(t, binPath, "--config", cfg)
		wantLines(t, out, "FAIL cannot read the site preferences (tiki_preferences)", "every sign-in fails")
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
	})

	t.Run("unreadable config as the chat server's user", func(t *testing.T) {
		need(t, "root", os.Geteuid() == 0, "run as root to check as another user")
		// A folder and program every user may reach; a config only root may read.
		dir, err := os.MkdirTemp("", "livechat-auth-doctor-")
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
		// Checked as nobody, a program in a folder nobody may search is a clear failure.
		if _, code := runDoctor(t, binPath, "--config", cfgPath, "--as", "nobody"); code != 2 {
			t.Errorf("a program nobody may run: exit %d", code)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "livechat-auth.yaml")
		body, _ := os.ReadFile(cfgPath)
		if err := os.WriteFile(cfg, body, 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := runDoctor(t, bin, "--config", cfg, "--as", "nobody")
		wantLines(t, out, "as nobody", "FAIL config "+cfg+": cannot be read as nobody", "chmod 640")
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
		if err := os.Chmod(cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ = runDoctor(t, bin, "--config", cfg, "--as", "nobody")
		wantLines(t, out, "OK   config "+cfg+" readable and valid", "is readable by every user (mode 0644)")
	})

	t.Run("missing column", func(t *testing.T) {
		mustExec(t, w.Root, "ALTER TABLE users_users DROP COLUMN twoFactorSecret")
		out, code := runDoctor(t, binPath, "--config", cfgPath)
		wantLines(t, out, "FAIL users_users has no column twoFactorSecret: every sign-in fails")
		if code != 2 {
			t.Errorf("exit %d; want 2", code)
		}
	})
}
