package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// runIDs runs "livechat-auth ids" against the wiki with the reader's DSN.
func runIDs(t testing.TB, w *wiki, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"ids"}, args...)...)
	cmd.Env = []string{"LIVECHAT_AUTH_WIKI_DSN=" + w.ReaderDSN, "LIVECHAT_AUTH_DOMAINS=chat.test"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ids %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

type idsReport struct {
	Accounts   int `json:"accounts"`
	Migrated   int `json:"migrated"`
	Unmigrated []struct {
		ID    int64
		Login string
	} `json:"unmigrated"`
	InvalidIDs []struct {
		Login string
	} `json:"invalid_ids"`
	Collisions  [][]string `json:"collisions"`
	ChatOnly    []string   `json:"chat_only"`
	OnBothSides []string   `json:"on_both_sides"`
}

// TestIDsPlanApplies: the report finds the fixture's migration state, the
// plan's SQL applies cleanly (as an operator would, with a user that may
// write) and leaves every account migrated with unique valid ids, and the
// tools themselves ran with the SELECT-only user.
func TestIDsPlanApplies(t *testing.T) {
	w := newWiki(t)
	// Add unmigrated accounts whose derived ids collide.
	mustExec(t, w.Root, `INSERT INTO users_users (userId, login, email, hash) VALUES
		(100, 'José García', 'j1@example.org', ''), (101, 'jose garcia', 'j2@example.org', ''), (102, 'oldtimer', 'o@example.org', '')`)
	chat := filepath.Join(t.TempDir(), "chat-accounts.txt")
	if err := os.WriteFile(chat, []byte("# ejabberdctl registered_users chat.test\noldtimer\nalice@chat.test\njosegarcia\nghost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var before idsReport
	if err := json.Unmarshal([]byte(runIDs(t, w, "report", "--format", "json", "--chat-accounts", chat)), &before); err != nil {
		t.Fatal(err)
	}
	unmigrated := []string{}
	for _, u := range before.Unmigrated {
		unmigrated = append(unmigrated, u.Login)
	}
	if strings.Join(unmigrated, ",") != "rupert,José García,jose garcia,oldtimer" {
		t.Errorf("unmigrated %v", unmigrated)
	}
	if len(before.InvalidIDs) != 1 || before.InvalidIDs[0].Login != "ursula" {
		t.Errorf("invalid ids %+v", before.InvalidIDs)
	}
	if strings.Join(before.ChatOnly, ",") != "josegarcia,ghost" || strings.Join(before.OnBothSides, ",") != "oldtimer,alice" {
		t.Errorf("chat only %v, both sides %v", before.ChatOnly, before.OnBothSides)
	}
	if got := strings.TrimSpace(runIDs(t, w, "suggest", "--chat-accounts", chat, "Alice")); got != "alice2" {
		t.Errorf("suggest Alice = %q", got)
	}

	plan := runIDs(t, w, "plan", "--chat-accounts", chat)
	for _, want := range []string{
		"livechat_id = 'oldtimer' WHERE userId = 102 AND livechat_id IS NULL; -- oldtimer: chat account of the same name",
		"livechat_id = 'josegarcia2' WHERE userId = 100",
		"livechat_id = 'josegarcia3' WHERE userId = 101",
		"livechat_id = 'rupert' WHERE userId = 17 AND livechat_id IS NULL; -- rupert: derived from the login",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	mustExec(t, w.Root, plan)
	mustExec(t, w.Root, plan) // applying twice changes nothing more

	var after idsReport
	if err := json.Unmarshal([]byte(runIDs(t, w, "report", "--format", "json")), &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Unmigrated) != 0 || len(after.Collisions) != 0 || after.Migrated != after.Accounts {
		t.Errorf("after the plan: %+v", after)
	}
	for _, format := range []string{"table", "csv"} {
		if out := runIDs(t, w, "report", "--format", format); !strings.Contains(out, "ursula") {
			t.Errorf("%s report lacks the invalid id:\n%s", format, out)
		}
	}
}
