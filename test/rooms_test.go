package test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/muc"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// xmppSession is an independent client for checking rooms: signed in,
// serving its session for MUC presences.
type xmppSession struct {
	*xmpp.Session
	muc *muc.Client
}

func dialSession(t testing.TB, addr, address, password string) *xmppSession {
	t.Helper()
	c := &xmppSession{muc: &muc.Client{}}
	c.Session, _ = signedInSession(t, addr, address, password, muc.HandleClient(c.muc))
	return c
}

// signedInSession signs address in over plain TCP (SASL PLAIN on
// loopback) and serves the session with handlers until the test ends;
// served is closed when the server ends the stream.
func signedInSession(t testing.TB, addr, address, password string, handlers ...mux.Option) (s *xmpp.Session, served <-chan struct{}) {
	t.Helper()
	j := jid.MustParse(address)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s, err = xmpp.NewSession(ctx, j.Domain(), j, conn, xmpp.Secure, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.SASL("", password, sasl.Plain), xmpp.BindResource()}}
		}))
	if err != nil {
		conn.Close()
		t.Fatalf("sign in as %s: %v", address, err)
	}
	done := make(chan struct{})
	go func() { _ = s.Serve(mux.New("jabber:client", handlers...)); close(done) }() // ends with the stream
	t.Cleanup(func() { s.Close(); conn.Close() })
	return s, done
}

// affiliations reads a room's four lists with hand-written muc#admin
// requests, independent of the rooms package.
func (c *xmppSession) affiliations(t testing.TB, room string) string {
	t.Helper()
	var out []string
	for _, a := range []string{"owner", "admin", "member", "outcast"} {
		var q struct {
			Items []struct {
				JID string `xml:"jid,attr"`
			} `xml:"item"`
		}
		payload := xml.NewDecoder(strings.NewReader(`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="` + a + `"/></query>`))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.UnmarshalIQElement(ctx, payload, stanza.IQ{To: jid.MustParse(room), Type: stanza.GetIQ}, &q)
		cancel()
		if err != nil {
			t.Fatalf("read %s list of %s: %v", a, room, err)
		}
		for _, it := range q.Items {
			out = append(out, it.JID+"="+a)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// join enters a room and leaves again; the error says why it could not.
func (c *xmppSession) join(room, nick string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := c.muc.Join(ctx, jid.MustParse(room+"/"+nick), c.Session)
	if err != nil {
		return err
	}
	return ch.Leave(ctx, "")
}

func syncRooms(t testing.TB, cfgPath string, extra ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binPath, append([]string{"sync-rooms", "--config", cfgPath}, extra...)...).CombinedOutput()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

const roomRules = `rooms:
  jid: syncbot@chat.test
  password: syncbot-pw
  server: 127.0.0.1:%d
  tls: none
  service: conference.chat.test
  defaults: {persistent: true, moderated: false}
  settings:
    support: {name: Support desk, members_only: true, persistent: true, moderated: false}
  rules:
    - {group: Room Monitors, rooms: [support], affiliation: owner}
    - {group: Room Monitors, rooms: [monitors], affiliation: admin}
    - {group: Editors, rooms: [support], affiliation: member}
    - {group: Former Staff, rooms: [support], affiliation: outcast}
`

// TestRoomSync runs sync-rooms against a real ejabberd 23.01 with mod_muc:
// dry run, creation, a no-change rerun, then wiki changes (a member
// leaves, one joins, an account is suspended) and the next run; checked
// by an independent client reading the lists and joining the
// members-only room.
func TestRoomSync(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
	appendConfig(t, cfgPath, fmt.Sprintf(roomRules, ej.C2SPort))
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	const support, monitors = "support@conference.chat.test", "monitors@conference.chat.test"

	// Dry run: a plan, and no room made.
	out, code := syncRooms(t, cfgPath, "--dry-run")
	if code != 0 || !strings.Contains(out, "would change (created)") || !strings.Contains(out, "alice@chat.test: none -> owner") {
		t.Fatalf("dry run (%d):\n%s", code, out)
	}
	checker := dialSession(t, addr, "syncbot@"+host, "syncbot-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := checker.UnmarshalIQElement(ctx, xml.NewDecoder(strings.NewReader(`<query xmlns="http://jabber.org/protocol/disco#info"/>`)),
		stanza.IQ{To: jid.MustParse(support), Type: stanza.GetIQ}, &struct{}{})
	cancel()
	if err == nil {
		t.Fatal("the dry run created a room")
	}

	// Room Monitors and Support Team include each other, and Support Team
	// includes Editors: alice (Room Monitors) and bob (Support Team) are in
	// all three groups. carol is an Editor only.
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName, created, expire) SELECT userId, 'Editors', 0, NULL FROM users_users WHERE login = 'carol'")
	out, code = syncRooms(t, cfgPath)
	if code != 0 {
		t.Fatalf("sync (%d):\n%s", code, out)
	}
	if got := checker.affiliations(t, support); got != "alice@chat.test=owner bob@chat.test=owner carol@chat.test=member syncbot@chat.test=owner" {
		t.Errorf("support after the first run: %s", got)
	}
	// A monitor (owner) can kick a member out of the room.
	alice := dialSession(t, addr, "alice@"+host, "alice-pw-1")
	carol := dialSession(t, addr, "carol@"+host, "carol-pw-2a")
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := alice.muc.Join(ctx, jid.MustParse(support+"/alice"), alice.Session); err != nil {
		t.Fatalf("alice joins: %v", err)
	}
	if _, err := carol.muc.Join(ctx, jid.MustParse(support+"/carol"), carol.Session); err != nil {
		t.Fatalf("carol joins: %v", err)
	}
	err = alice.UnmarshalIQElement(ctx, xml.NewDecoder(strings.NewReader(
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item nick="carol" role="none"><reason>test</reason></item></query>`)),
		stanza.IQ{To: jid.MustParse(support), Type: stanza.SetIQ}, &struct{}{})
	cancel()
	if err != nil {
		t.Errorf("the monitor could not kick a member: %v", err)
	}
	if got := checker.affiliations(t, monitors); got != "alice@chat.test=admin bob@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors after the first run: %s", got)
	}
	// Someone else's affiliation, on another domain: not ours to touch.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	err = checker.UnmarshalIQElement(ctx, xml.NewDecoder(strings.NewReader(
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="guest@elsewhere.test"/></query>`)),
		stanza.IQ{To: jid.MustParse(support), Type: stanza.SetIQ}, &struct{}{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	out, _ = syncRooms(t, cfgPath)
	if !strings.Contains(out, "0 affiliations changed") || !strings.Contains(out, " 0 writes sent") {
		t.Errorf("second run wrote:\n%s", out)
	}

	// The wiki changes: bob leaves Support Team, carol joins Room Monitors,
	// walter's Former Staff membership is renewed (outcast), and alice is
	// suspended.
	mustExec(t, w.Root, "DELETE FROM users_usergroups WHERE groupName = 'Support Team'")
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName, created, expire) SELECT userId, 'Room Monitors', 0, NULL FROM users_users WHERE login = 'carol'")
	mustExec(t, w.Root, "UPDATE users_usergroups SET expire = NULL WHERE groupName = 'Former Staff'")
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE login = 'alice'")
	// A new group, Night Shift, is included in Editors: its member dave
	// becomes an Editor, so a member of support.
	mustExec(t, w.Root, "INSERT INTO users_groups (groupName) VALUES ('Night Shift')")
	mustExec(t, w.Root, "INSERT INTO tiki_group_inclusion (groupName, includeGroup) VALUES ('Night Shift', 'Editors')")
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName, created, expire) SELECT userId, 'Night Shift', 0, NULL FROM users_users WHERE login = 'dave'")
	out, code = syncRooms(t, cfgPath)
	if code != 0 {
		t.Fatalf("third run (%d):\n%s", code, out)
	}
	t.Logf("third run:\n%s", out)
	if got := checker.affiliations(t, support); got != "carol@chat.test=owner dave@chat.test=member guest@elsewhere.test=member syncbot@chat.test=owner walter@chat.test=outcast" {
		t.Errorf("support after the changes: %s", got)
	}
	if got := checker.affiliations(t, monitors); got != "carol@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors after the changes: %s", got)
	}
	// The members-only room lets carol in and keeps bob out.
	if err := dialSession(t, addr, "carol@"+host, "carol-pw-2a").join(support, "carol2"); err != nil {
		t.Errorf("carol cannot enter: %v", err)
	}
	if err := dialSession(t, addr, "bob@"+host, "bob-pw-12").join(support, "bob"); err == nil {
		t.Error("bob, no longer a member, entered the members-only room")
	}
	if len(logLines(t, logPath, "affiliation changed", "jid=bob@chat.test", "to=none")) == 0 {
		t.Error("no log line for bob's removal")
	}
}

// TestServeSyncsRoomsPeriodically: serve runs the sync on its own, and
// counts the changes in its metrics.
func TestServeSyncsRoomsPeriodically(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
	appendConfig(t, cfgPath, fmt.Sprintf(roomRules, ej.C2SPort)+"  interval: 2s\n")
	mustExec(t, w.Root, "UPDATE users_users SET waiting = 'a' WHERE login = 'bob'") // suspended: no rooms
	srv := startServe(t, cfgPath)
	checker := dialSession(t, fmt.Sprintf("127.0.0.1:%d", ej.C2SPort), "syncbot@"+host, "syncbot-pw")
	if !eventually(t, 15*time.Second, func() bool {
		_, metrics := get(t, srv.URL+"/metrics")
		return strings.Contains(metrics, `livechat_auth_room_sync_runs_total{result="ok"}`)
	}) {
		t.Fatal("no room sync run within 15s")
	}
	if got := checker.affiliations(t, "monitors@conference.chat.test"); got != "alice@chat.test=admin syncbot@chat.test=owner" {
		t.Errorf("monitors: %s", got)
	}
	_, metrics := get(t, srv.URL+"/metrics")
	if !strings.Contains(metrics, "livechat_auth_room_changes_total 2") {
		t.Errorf("metrics lack the 2 changes:\n%s", metrics)
	}
}

// TestRoomSyncProsody runs the same sync against Prosody 0.12's MUC
// component, whose admin requests apply one item each: the sync reads the
// lists back and finishes item by item.
func TestRoomSyncProsody(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	const secret = "prosody shares this with livechat-auth"
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("httpauth:\n  secret: %q\n", secret))
	srv := startServe(t, cfgPath)
	p := startProsodyWith(t, host, livechatModuleSettings(srv.URL, secret)+`admins = { "syncbot@chat.test" }`+"\n",
		`Component "conference.chat.test" "muc"`+"\n")
	appendConfig(t, cfgPath, fmt.Sprintf(roomRules, p.C2SPort))
	mustExec(t, w.Root, "INSERT INTO users_usergroups (userId, groupName, created, expire) SELECT userId, 'Editors', 0, NULL FROM users_users WHERE login = 'carol'")

	out, code := syncRooms(t, cfgPath)
	if code != 0 {
		t.Fatalf("sync (%d):\n%s", code, out)
	}
	t.Logf("first run on Prosody:\n%s", out)
	checker := dialSession(t, fmt.Sprintf("127.0.0.1:%d", p.C2SPort), "syncbot@"+host, "syncbot-pw")
	if got := checker.affiliations(t, "support@conference.chat.test"); !strings.Contains(got, "alice@chat.test=owner") ||
		!strings.Contains(got, "bob@chat.test=owner") || !strings.Contains(got, "carol@chat.test=member") {
		t.Errorf("support on Prosody: %s", got)
	}
	if got := checker.affiliations(t, "monitors@conference.chat.test"); !strings.Contains(got, "alice@chat.test=admin") || !strings.Contains(got, "bob@chat.test=admin") {
		t.Errorf("monitors on Prosody: %s", got)
	}
	if out, _ := syncRooms(t, cfgPath); !strings.Contains(out, "0 affiliations changed") || !strings.Contains(out, " 0 writes sent") {
		t.Errorf("second run on Prosody wrote:\n%s", out)
	}
}

// TestRoomSyncSignsInWithAToken: with no rooms.password, the sync account
// signs in with a one-time token minted for its wiki account.
func TestRoomSyncSignsInWithAToken(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	key := keygen(t, "EdDSA")
	cfgPath, _ := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, fmt.Sprintf("token:\n  signing_key_file: %q\n", key))
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, Extauth: binPath + " extauth --config " + cfgPath, MUCAdmin: "syncbot@" + host})
	appendConfig(t, cfgPath, strings.Replace(fmt.Sprintf(roomRules, ej.C2SPort), "  password: syncbot-pw\n", "", 1))
	out, code := syncRooms(t, cfgPath)
	if code != 0 || !strings.Contains(out, "alice@chat.test: none -> admin") {
		t.Fatalf("sync with a token (%d):\n%s", code, out)
	}
}
