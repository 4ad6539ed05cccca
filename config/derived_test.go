package config

import (
	"strings"
	"testing"
)

func TestChatDomain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		session string
		domains []string
		want    string
	}{
		{"session.domain", "widget.test", []string{"chat.test"}, "widget.test"},
		{"first of domains", "", []string{"chat.test", "other.test"}, "chat.test"},
		{"neither", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Session.Domain, c.Domains = tc.session, tc.domains
			if got := c.ChatDomain(); got != tc.want {
				t.Errorf("ChatDomain() = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRoomsAddress(t *testing.T) {
	for _, tc := range []struct {
		name, jid, server, want string
	}{
		{"rooms.server", "sync@chat.test", "127.0.0.1:5333", "127.0.0.1:5333"},
		{"the JID's domain", "sync@chat.test", "", "chat.test:5222"},
		{"no JID", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Rooms{JID: tc.jid, Server: tc.server}
			if got := r.Address(); got != tc.want {
				t.Errorf("Address() = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestChatAddress: the health check's address is rooms.server, else the
// client port of the WebSocket upstream's host, never a guess from
// rooms.jid; the proxy's own address is checked apart.
func TestChatAddress(t *testing.T) {
	for _, tc := range []struct {
		name, jid, server, upstream, want string
	}{
		{"rooms.server", "sync@chat.test", "127.0.0.1:5333", "ws://127.0.0.1:5280/ws", "127.0.0.1:5333"},
		{"the upstream's host", "sync@chat.test", "", "ws://127.0.0.1:5280/ws", "127.0.0.1:5222"},
		{"neither", "sync@chat.test", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.Rooms.JID, c.Rooms.Server, c.Proxy.WebSocketUpstream = tc.jid, tc.server, tc.upstream
			if got := c.ChatAddress(); got != tc.want {
				t.Errorf("ChatAddress() = %q; want %q", got, tc.want)
			}
			if want := strings.TrimPrefix(strings.TrimSuffix(tc.upstream, "/ws"), "ws://"); c.ProxyAddress() != want {
				t.Errorf("ProxyAddress() = %q; want %q", c.ProxyAddress(), want)
			}
		})
	}
}

func TestRoomsAccount(t *testing.T) {
	j, err := Rooms{JID: "sync@chat.test"}.Account()
	if err != nil || j.String() != "sync@chat.test" {
		t.Errorf("Account() = %v, %v", j, err)
	}
	if _, err := (Rooms{JID: "@"}).Account(); err == nil {
		t.Error("Account() of \"@\": no error")
	}
}
