package test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// changedCount reads "N affiliations changed" from sync-rooms' summary.
func changedCount(t testing.TB, out string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) affiliations changed`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// TestRoomSyncCountsOnlyWhatTheServerMade: ejabberd refuses to ban a MUC
// service admin (dave, the chat server's operator, whom the wiki lists in
// Former Staff). The refusal is reported, the room's other changes are
// still made, and only what the lists show made is counted.
func TestRoomSyncCountsOnlyWhatTheServerMade(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	// syncbot administers the rooms it creates as their owner; dave is a
	// service admin of the MUC.
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "dave@" + host})
	appendConfig(t, cfgPath, fmt.Sprintf(roomRules, ej.C2SPort))
	mustExec(t, w.Root, "UPDATE users_usergroups SET expire = NULL WHERE groupName = 'Former Staff'") // walter
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName, created, expire) SELECT userId, 'Former Staff', 0, NULL FROM users_users WHERE login = 'dave'")
	const support, monitors = "support@conference.chat.test", "monitors@conference.chat.test"

	out, code := syncRooms(t, cfgPath)
	t.Logf("sync:\n%s", out)
	if code != 1 || !strings.Contains(out, "dave@chat.test: none -> outcast (refused)") || !strings.Contains(out, "support@conference.chat.test: FAILED") {
		t.Errorf("the refusal is not reported (exit %d)", code)
	}
	checker := dialSession(t, fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), "syncbot@"+host, "syncbot-pw")
	gotSupport, gotMonitors := checker.affiliations(t, support), checker.affiliations(t, monitors)
	if gotSupport != "alice@chat.test=owner bob@chat.test=owner syncbot@chat.test=owner walter@chat.test=outcast" {
		t.Errorf("support: %s", gotSupport)
	}
	if gotMonitors != "alice@chat.test=admin bob@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors: %s", gotMonitors)
	}
	// Counted: what the lists hold besides the sync account itself.
	made := len(strings.Fields(gotSupport)) + len(strings.Fields(gotMonitors)) - 2
	if n := changedCount(t, out); n != made || made != 5 {
		t.Errorf("%d changes counted, %d made (want 5)", n, made)
	}
	if len(logLines(t, logPath, "affiliation change refused", "jid=dave@chat.test")) != 1 {
		t.Error("no log line for the refused change")
	}
	if len(logLines(t, logPath, "affiliation changed", "jid=dave@chat.test")) != 0 {
		t.Error("the refused change is logged as made")
	}

	// The next run tries again, and still counts nothing it did not make.
	out, code = syncRooms(t, cfgPath)
	if code != 1 || changedCount(t, out) != 0 || !strings.Contains(out, "dave@chat.test: none -> outcast (refused)") {
		t.Errorf("second run (exit %d):\n%s", code, out)
	}
}

// TestRoomSyncNewAccountLeavesTheOldOwnerAlone: rooms.jid moves from
// syncbot (owner of the rooms it created) to syncbot2, a MUC service
// admin. syncbot keeps its ownership (no rule granted it), and syncbot2
// still takes back what the rules stop granting.
func TestRoomSyncNewAccountLeavesTheOldOwnerAlone(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot2@" + host})
	appendConfig(t, cfgPath, fmt.Sprintf(roomRules, ej.C2SPort))
	// syncbot2 is a wiki account like syncbot, with the same password.
	mustExec(t, w.Root, "INSERT INTO users_users (login, email, hash, livechat_id, pass_confirm, registrationDate, created, password) "+
		"SELECT 'syncbot2', 'syncbot2@example.org', hash, 'syncbot2', pass_confirm, registrationDate, created, '' FROM users_users WHERE login = 'syncbot'")
	const support, monitors = "support@conference.chat.test", "monitors@conference.chat.test"

	if out, code := syncRooms(t, cfgPath); code != 0 {
		t.Fatalf("sync as syncbot (%d):\n%s", code, out)
	}
	cfg2, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	appendConfig(t, cfg2, strings.Replace(fmt.Sprintf(roomRules, ej.C2SPort), "jid: syncbot@chat.test", "jid: syncbot2@chat.test", 1))
	out, code := syncRooms(t, cfg2)
	t.Logf("sync as syncbot2:\n%s", out)
	if code != 0 || strings.Contains(out, "syncbot@chat.test") || changedCount(t, out) != 0 {
		t.Errorf("the new sync account touched the old one (exit %d)", code)
	}
	checker := dialSession(t, fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), "syncbot2@"+host, "syncbot-pw")
	if got := checker.affiliations(t, support); got != "alice@chat.test=owner bob@chat.test=owner syncbot@chat.test=owner" {
		t.Errorf("support after the switch: %s", got)
	}
	if got := checker.affiliations(t, monitors); got != "alice@chat.test=admin bob@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors after the switch: %s", got)
	}

	// bob leaves Support Team: syncbot2 takes back what the rules gave
	// him, and still leaves syncbot alone.
	mustExec(t, w.Root, "DELETE FROM users_usergroups WHERE groupName = 'Support Team'")
	out, code = syncRooms(t, cfg2)
	if code != 0 || changedCount(t, out) != 2 || strings.Contains(out, "syncbot@chat.test") {
		t.Errorf("after bob left (exit %d):\n%s", code, out)
	}
	if got := checker.affiliations(t, support); got != "alice@chat.test=owner syncbot@chat.test=owner" {
		t.Errorf("support after bob left: %s", got)
	}
	if got := checker.affiliations(t, monitors); got != "alice@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors after bob left: %s", got)
	}
}
