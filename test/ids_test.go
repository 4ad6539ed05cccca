package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestSchemaMigrationTwice(t *testing.T) {
	w := newWiki(t)
	mustExec(t, w.Root, "ALTER TABLE users_users DROP INDEX livechat_id, DROP COLUMN livechat_id")
	migration, err := os.ReadFile("../wikidb/schema/livechat_id.sql")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		mustExec(t, w.Root, string(migration))
	}
	var nullable, unique string
	if err := w.Root.QueryRow(`SELECT IS_NULLABLE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND COLUMN_NAME = 'livechat_id'`).Scan(&nullable); err != nil {
		t.Fatalf("column: %v", err)
	}
	if err := w.Root.QueryRow(`SELECT NON_UNIQUE FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users_users' AND INDEX_NAME = 'livechat_id'`).Scan(&unique); err != nil {
		t.Fatalf("key: %v", err)
	}
	if nullable != "YES" || unique != "0" {
		t.Fatalf("nullable %s non-unique %s", nullable, unique)
	}
}

// runIDs runs "livechat-auth ids" against the wiki with the reader's DSN
// and returns its output; it fails the test unless it exits with want.
func runIDs(t testing.TB, w *wiki, want int, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"ids"}, args...)...)
	cmd.Env = []string{"LIVECHAT_AUTH_WIKI_DSN=" + w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil && want == 0:
	case errors.As(err, &exit) && exit.ExitCode() == want:
	default:
		t.Fatalf("ids %v: %v, want exit %d\n%s%s", args, err, want, out, stderr.String())
	}
	return string(out)
}

// writeChat writes a chat server's account list.
func writeChat(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat-accounts.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applySQL runs sql with the mariadb (or mysql) command-line client, as
// an operator applies a plan: batch mode, as a user that may read and
// update users_users and nothing more. It returns the client's error
// output and whether it succeeded.
func applySQL(t testing.TB, w *wiki, sql string) (string, bool) {
	t.Helper()
	client, err := exec.LookPath("mariadb")
	if err != nil {
		client, err = exec.LookPath("mysql")
	}
	need(t, "the mariadb/mysql client", err == nil, "apt-get install mariadb-client")
	cfg, err := mysql.ParseDSN(rootDSN())
	if err != nil {
		t.Fatal(err)
	}
	user, password := randomName("lca_rw_"), randomName("pw")
	mustExec(t, w.Root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password))
	t.Cleanup(func() { _, _ = w.Root.Exec("DROP USER IF EXISTS '" + user + "'@'%'") }) // best effort: the test is over
	mustExec(t, w.Root, fmt.Sprintf("GRANT SELECT, UPDATE ON %s.users_users TO '%s'@'%%'", w.Name, user))
	opts := fmt.Sprintf("[client]\nuser=%s\npassword=%s\ndatabase=%s\n", user, password, w.Name)
	if cfg.Net == "unix" {
		opts += "socket=" + cfg.Addr + "\n"
	} else {
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			t.Fatal(err)
		}
		opts += fmt.Sprintf("host=%s\nport=%s\nprotocol=tcp\n", host, port)
	}
	defaults := filepath.Join(t.TempDir(), "client.cnf")
	if err := os.WriteFile(defaults, []byte(opts), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(client, "--defaults-extra-file="+defaults, "--batch")
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// livechatIDs reads every account's livechat_id ("NULL" for none).
func livechatIDs(t testing.TB, w *wiki) map[int64]string {
	t.Helper()
	rows, err := w.Root.Query("SELECT userId, COALESCE(livechat_id, 'NULL') FROM users_users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[int64]string{}
	for rows.Next() {
		var id int64
		var livechatID string
		if err := rows.Scan(&id, &livechatID); err != nil {
			t.Fatal(err)
		}
		ids[id] = livechatID
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

type reportAccount struct {
	UserID     int64   `json:"user_id"`
	Login      string  `json:"login"`
	LivechatID *string `json:"livechat_id"`
}

type idsReport struct {
	Accounts     int             `json:"accounts"`
	Migrated     int             `json:"migrated"`
	ChatAccounts int             `json:"chat_accounts"`
	Unmigrated   []reportAccount `json:"unmigrated"`
	InvalidIDs   []reportAccount `json:"invalid_ids"`
	Collisions   []struct {
		LivechatIDs []reportAccount `json:"livechat_ids"`
		ChatNames   []string        `json:"chat_names"`
	} `json:"collisions"`
	InvalidChatNames  []string        `json:"invalid_chat_names"`
	UnverifiedMatches []reportAccount `json:"unverified_matches"`
	ChatOnly          []string        `json:"chat_only"`
	OnBothSides       []string        `json:"on_both_sides"`
}

func logins(accounts []reportAccount) string {
	var out []string
	for _, a := range accounts {
		out = append(out, a.Login)
	}
	return strings.Join(out, ",")
}

// TestIDsPlanApplies: the report finds the fixture's migration state, the
// plan applies with the mysql client as an operator would (a user that may
// write), leaves a same-named chat account's match commented out unless
// merging by name is asked for, and applying it twice changes nothing;
// the tools themselves run with the SELECT-only user.
func TestIDsPlanApplies(t *testing.T) {
	w := newWiki(t)
	// Add unmigrated accounts whose derived ids collide.
	mustExec(t, w.Root, `INSERT INTO users_users (userId, login, email, hash) VALUES
		(100, 'José García', 'j1@example.org', ''), (101, 'jose garcia', 'j2@example.org', ''), (102, 'oldtimer', 'o@example.org', '')`)
	chat := writeChat(t, "# ejabberdctl registered_users chat.test", "oldtimer", "alice@chat.test", "josegarcia", "ghost")
	var before idsReport
	if err := json.Unmarshal([]byte(runIDs(t, w, 1, "report", "--format", "json", "--chat-accounts", chat)), &before); err != nil {
		t.Fatal(err)
	}
	if got := logins(before.Unmigrated); got != "rupert,José García,jose garcia,oldtimer" {
		t.Errorf("unmigrated %v", got)
	}
	if len(before.InvalidIDs) != 1 || before.InvalidIDs[0].Login != "ursula" {
		t.Errorf("invalid ids %+v", before.InvalidIDs)
	}
	if strings.Join(before.ChatOnly, ",") != "josegarcia,ghost" || strings.Join(before.OnBothSides, ",") != "oldtimer,alice" {
		t.Errorf("chat only %v, both sides %v", before.ChatOnly, before.OnBothSides)
	}
	if got := logins(before.UnverifiedMatches); got != "oldtimer" {
		t.Errorf("unverified matches %v", got)
	}
	if got := strings.TrimSpace(runIDs(t, w, 0, "suggest", "--chat-accounts", chat, "Alice")); got != "alice2" {
		t.Errorf("suggest Alice = %q", got)
	}

	plan := runIDs(t, w, 0, "plan", "--chat-accounts", chat)
	for _, want := range []string{
		"\nSTART TRANSACTION;\n",
		"\n-- UPDATE users_users SET livechat_id = 'oldtimer' WHERE userId = 102 AND livechat_id IS NULL; -- oldtimer: unverified",
		"livechat_id = 'josegarcia2' WHERE userId = 100",
		"livechat_id = 'josegarcia3' WHERE userId = 101",
		"\nUPDATE users_users SET livechat_id = 'rupert' WHERE userId = 17 AND livechat_id IS NULL; -- rupert: derived from the login",
		"\nCOMMIT;\n",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if out, ok := applySQL(t, w, plan); !ok {
		t.Fatalf("applying the plan: %s", out)
	}
	applied := livechatIDs(t, w)
	if applied[100] != "josegarcia2" || applied[101] != "josegarcia3" || applied[17] != "rupert" || applied[102] != "NULL" {
		t.Errorf("after the plan: %v", applied)
	}
	if out, ok := applySQL(t, w, plan); !ok {
		t.Fatalf("applying the plan again: %s", out)
	}
	if again := livechatIDs(t, w); !maps.Equal(again, applied) {
		t.Errorf("applying twice changed %v into %v", applied, again)
	}

	// Merging by name, asked for, assigns oldtimer its chat account.
	merge := runIDs(t, w, 0, "plan", "--merge-by-name", "--chat-accounts", chat)
	if !strings.Contains(merge, "\nUPDATE users_users SET livechat_id = 'oldtimer' WHERE userId = 102 AND livechat_id IS NULL; -- oldtimer: chat account of the same name, merged by name") {
		t.Errorf("merge plan:\n%s", merge)
	}
	if out, ok := applySQL(t, w, merge); !ok {
		t.Fatalf("applying the merge plan: %s", out)
	}
	var after idsReport
	if err := json.Unmarshal([]byte(runIDs(t, w, 1, "report", "--format", "json")), &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Unmigrated) != 0 || len(after.Collisions) != 0 || after.Migrated != after.Accounts || len(after.InvalidIDs) != 1 {
		t.Errorf("after the plans: %+v", after)
	}
	for _, format := range []string{"table", "csv"} {
		if out := runIDs(t, w, 1, "report", "--format", format); !strings.Contains(out, "ursula") {
			t.Errorf("%s report lacks the invalid id:\n%s", format, out)
		}
	}
	mustExec(t, w.Root, "UPDATE users_users SET livechat_id = 'ursula' WHERE login = 'ursula'")
	runIDs(t, w, 0, "report") // no problem left: exit 0
}

// TestIDsUniqueUnderCollation: Tiki's livechat_id key is blind to case,
// accents, width and trailing spaces (utf8mb4_unicode_ci). With rené
// taken, René's id must not be rene; with キヤ taken, キャ (a small ya,
// which the collation holds equal and a Go fold does not) must not be
// キャ: the database decides. suggest and plan agree, and the plan
// applies, whole, with the mysql client.
func TestIDsUniqueUnderCollation(t *testing.T) {
	w := newWiki(t)
	mustExec(t, w.Root, `INSERT INTO users_users (userId, login, email, hash, livechat_id) VALUES
		(100, 'rené', 'r1@example.org', '', 'rené'), (101, 'René', 'r2@example.org', '', NULL),
		(102, 'キヤ', 'k1@example.org', '', 'キヤ'), (103, 'キャ', 'k2@example.org', '', NULL),
		(104, 'Ｍａｒｉａ', 'm1@example.org', '', NULL), (105, 'maria', 'm2@example.org', '', NULL),
		(106, 'anna', 'a1@example.org', '', NULL)`)
	chat := writeChat(t, "ANNA ", "Anna@chat.test")
	for login, want := range map[string]string{"René": "rene2", "キャ": "キャ2", "maria": "maria"} {
		if got := strings.TrimSpace(runIDs(t, w, 0, "suggest", login)); got != want {
			t.Errorf("suggest %s = %q, want %q", login, got, want)
		}
	}
	plan := runIDs(t, w, 0, "plan", "--chat-accounts", chat)
	for _, want := range []string{
		"livechat_id = 'rene2' WHERE userId = 101 ",
		"livechat_id = 'キャ2' WHERE userId = 103 ",
		"livechat_id = 'maria' WHERE userId = 104 ",
		"livechat_id = 'maria2' WHERE userId = 105 ",
		"-- UPDATE users_users SET livechat_id = 'anna' WHERE userId = 106 ",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if out, ok := applySQL(t, w, plan); !ok {
		t.Fatalf("the database refused the plan: %s", out)
	}
	got := livechatIDs(t, w)
	if got[101] != "rene2" || got[103] != "キャ2" || got[105] != "maria2" || got[106] != "NULL" || got[17] != "rupert" {
		t.Errorf("after the plan: %v", got)
	}
}

// TestIDsPlanAllOrNothing: a plan the database rejects part of (an id
// taken between planning and applying) leaves nothing applied.
func TestIDsPlanAllOrNothing(t *testing.T) {
	w := newWiki(t)
	mustExec(t, w.Root, `INSERT INTO users_users (userId, login, email, hash) VALUES
		(100, 'amy', 'a@example.org', ''), (101, 'zack', 'z@example.org', '')`)
	before := livechatIDs(t, w)
	plan := runIDs(t, w, 0, "plan")
	last := strings.Index(plan, "livechat_id = 'zack' WHERE userId = 101 ")
	if first := strings.Index(plan, "livechat_id = 'rupert' WHERE userId = 17 "); first < 0 || last < first {
		t.Fatalf("plan:\n%s", plan)
	}
	// Meanwhile the wiki gives an account the id Zack (the key's zack).
	mustExec(t, w.Root, "INSERT INTO users_users (userId, login, email, hash, livechat_id) VALUES (102, 'Zack', 'z2@example.org', '', 'Zack')")
	out, ok := applySQL(t, w, plan)
	if ok || !strings.Contains(out, "1062") {
		t.Fatalf("applying a plan the key rejects: ok %v, output %q", ok, out)
	}
	after := livechatIDs(t, w)
	delete(after, 102)
	if !maps.Equal(after, before) {
		t.Errorf("a failed plan changed %v into %v", before, after)
	}
}

// TestIDsReport: each chat account counts once however it is listed,
// names that cannot be localparts are flagged, every JSON key is
// snake_case, and the exit code says whether there are problems.
func TestIDsReport(t *testing.T) {
	w := newWiki(t)
	mustExec(t, w.Root, "INSERT INTO users_users (userId, login, email, hash, livechat_id) VALUES (100, 'rené', 'r@example.org', '', 'rené')")
	chat := writeChat(t, "ghost", "ghost", "ghost@chat.test", "Ghost@support.test", "alice", "alice@chat.test",
		"has space", "has space", "a:b@chat.test", "rene")
	out := runIDs(t, w, 1, "report", "--format", "json", "--chat-accounts", chat)
	var keys func(v any)
	keys = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k != strings.ToLower(k) || strings.ContainsAny(k, " -") {
					t.Errorf("JSON key %q is not snake_case", k)
				}
				keys(e)
			}
		case []any:
			for _, e := range v {
				keys(e)
			}
		}
	}
	var raw any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	keys(raw)
	var r idsReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.ChatAccounts != 5 || strings.Join(r.ChatOnly, ",") != "ghost,rene" || strings.Join(r.OnBothSides, ",") != "alice" {
		t.Errorf("chat accounts %d, chat only %v, on both sides %v", r.ChatAccounts, r.ChatOnly, r.OnBothSides)
	}
	if strings.Join(r.InvalidChatNames, ",") != "has space,a:b" {
		t.Errorf("invalid chat names %v", r.InvalidChatNames)
	}
	// rené (a wiki id) and rene (a chat account) are different accounts
	// the wiki's key holds equal.
	if len(r.Collisions) != 1 || len(r.Collisions[0].LivechatIDs) != 1 || r.Collisions[0].LivechatIDs[0].UserID != 100 ||
		strings.Join(r.Collisions[0].ChatNames, ",") != "rene" {
		t.Errorf("collisions %+v", r.Collisions)
	}
	if table := runIDs(t, w, 1, "report", "--chat-accounts", chat); !regexp.MustCompile(`chat names that cannot be localparts +2\n`).MatchString(table) {
		t.Errorf("table:\n%s", table)
	}
	runIDs(t, w, 2, "report", "--format", "yaml")
}
