package test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// register creates an internal account by in-band registration
// (XEP-0077) before signing in, as chat-only users of the old server
// did. It speaks the few stanzas needed by hand.
func register(t testing.TB, user, host, password string, port int) {
	t.Helper()
	if answer := tryRegister(t, user, host, password, port); !strings.Contains(answer, `type="result"`) && !strings.Contains(answer, "type='result'") {
		t.Fatalf("register %s refused: %s", user, answer)
	}
}

// tryRegister sends a registration request and returns the server's
// answer (an <iq/> of type result or error).
func tryRegister(t testing.TB, user, host, password string, port int) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	esc := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
		return b.String()
	}
	fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", esc(host))
	fmt.Fprintf(conn, "<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>%s</username><password>%s</password></query></iq>", esc(user), esc(password))
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "reg1") || !strings.Contains(got.String(), "</iq>") && !strings.Contains(got.String(), "/>") {
		n, err := conn.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return got.String() // closed: a stream error says why
		}
	}
	return got.String()[strings.Index(got.String(), "<iq"):]
}

// TestEjabberdHybridMigration: during a migration ejabberd runs
// auth_method: [external, internal]. Chat-only accounts made before the
// wiki took over keep signing in with their own passwords; wiki users sign
// in through livechat-auth; an old chat account whose name is now a wiki
// user's livechat_id answers to both passwords until the operator removes
// it (the SUMO plan deletes the old account once merged), and registration
// stays closed.
func TestEjabberdHybridMigration(t *testing.T) {
	w := newWiki(t)
	const host = "chat.test"
	dir := t.TempDir()
	// Before the migration: an ordinary ejabberd with its own accounts.
	old := startEjabberdWith(t, ejabberdOptions{Host: host, AuthMethod: "internal", Register: true, Dir: dir})
	register(t, "oldtimer", host, "old-chat-pw", old.C2SPort)
	register(t, "frank", host, "franks-old-chat-pw", old.C2SPort)
	old.stop()

	cfgPath, logPath := writeConfig(t, t.TempDir(), w.ReaderDSN, []string{host}, "")
	ej := startEjabberdWith(t, ejabberdOptions{Host: host, AuthMethod: "[external, internal]",
		Extauth: binPath + " extauth --config " + cfgPath, Dir: dir})
	addr := fmt.Sprintf("127.0.0.1:%d", ej.C2SPort)
	ctx := context.Background()
	tests := []struct {
		name, jid, password string
		ok                  bool
	}{
		{"chat-only account, internal password", "oldtimer@" + host, "old-chat-pw", true},
		{"chat-only account, wrong password", "oldtimer@" + host, "nope", false},
		{"wiki user through livechat-auth", "alice@" + host, "alice-pw-1", true},
		{"suspended wiki user", "nina@" + host, "nina-pw", false},
		{"merged name, wiki password", "frank@" + host, "frank-pw-md5", true},
		{"merged name, old chat password (until removed)", "frank@" + host, "franks-old-chat-pw", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := goSignIn(ctx, addr, tt.jid, tt.password)
			if (err == nil) != tt.ok {
				t.Fatalf("sign-in error %v, want success %v", err, tt.ok)
			}
		})
	}
	if answer := tryRegister(t, "newcomer", host, "pw-newcomer", ej.C2SPort); strings.Contains(answer, "result") {
		t.Errorf("registration open during the migration: %s", answer)
	}
	if len(logLines(t, logPath, "user=oldtimer", "reason=unknown-user")) == 0 {
		t.Error("livechat-auth was not asked first about the chat-only account")
	}
}
