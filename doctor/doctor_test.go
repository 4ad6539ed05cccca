package doctor

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStopsAtSettings: settings that cannot be read or do not
// validate are a failure (exit 2) and end the run before anything is
// opened; the environment line names variables, never values.
func TestRunStopsAtSettings(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	for _, c := range []struct {
		name    string
		path    string
		environ []string
		want    []string
	}{
		{"missing file", missing, nil, []string{
			"no LIVECHAT_AUTH_*, RUNTIME_DIRECTORY or TMPDIR variable",
			"FAIL config " + missing + ": not found\n",
			"     → check the path given with --config or LIVECHAT_AUTH_CONFIG",
		}},
		{"invalid settings", "", []string{"LIVECHAT_AUTH_LOG_LEVEL=secret-value", "TMPDIR=/tmp", "HOME=/root"}, []string{
			"     environment: LIVECHAT_AUTH_LOG_LEVEL, TMPDIR (values not shown; a chat server's may differ)\n",
			"FAIL settings: ",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), Config{
				Path: c.path, Version: "test", Environ: c.environ,
				Getenv: func(string) string { return "" },
			}, &out, &errOut)
			if code != 2 {
				t.Errorf("exit %d; want 2", code)
			}
			if !strings.HasPrefix(out.String(), "livechat-auth test doctor, as ") {
				t.Errorf("first line of:\n%s", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "secret-value") || strings.Contains(out.String(), "OK ") || errOut.Len() > 0 {
				t.Errorf("output:\n%s\nstderr:\n%s", out.String(), errOut.String())
			}
		})
	}
}

// TestRunAsUnknownUser: --as a user that does not exist is an error on
// stderr, as the program reports errors, with no check run.
func TestRunAsUnknownUser(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Config{As: "livechat-auth-no-such-user"}, &out, &errOut)
	if code != 2 || out.Len() > 0 || !strings.HasPrefix(errOut.String(), "livechat-auth doctor: --as livechat-auth-no-such-user: ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestJudgeSecret: what a chat server's user reading each secret means,
// depending on whether the chat server's own config uses it.
func TestJudgeSecret(t *testing.T) {
	for _, c := range []struct {
		name      string
		key       string
		chatUses  bool
		found     bool
		verdict   verdict
		chatNeeds bool
	}{
		{"signing key file", "token.signing_key_file", false, true, verdictFail, false},
		{"signing key the chat server names", "token.signing_key_file", true, true, verdictFail, false},
		{"session key", "session.key", false, true, verdictFail, false},
		{"HS256 secret the chat server verifies with", "token.secret", true, true, verdictWarn, true},
		{"HS256 secret serve's alone", "token.secret_file", false, true, verdictFail, false},
		{"previous HS256 secret", "token.previous_secret", false, true, verdictFail, false},
		{"status password", "status.secret_file", false, true, verdictWarn, false},
		{"Redis the chat server shares", "state.redis_password", true, false, verdictOK, false},
		{"Redis serve's alone", "state.redis_url", false, true, verdictWarn, false},
		{"room account password", "rooms.password_file", false, true, verdictWarn, false},
		{"the wiki's DSN", "wiki.dsn", false, false, verdictOK, false},
		{"the HTTP contract's secret", "http_auth.secret", true, false, verdictOK, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, found := judgeSecret(c.key, c.chatUses)
			if found != c.found || e.verdict != c.verdict || e.chatNeeds != c.chatNeeds {
				t.Errorf("judgeSecret(%q, %v) = %+v, %v", c.key, c.chatUses, e, found)
			}
			if found && (e.what == "" || e.why == "") {
				t.Errorf("judgeSecret(%q): says neither what nor why: %+v", c.key, e)
			}
		})
	}
}
