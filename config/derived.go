package config

import (
	"fmt"
	"net"
	"net/url"

	"mellium.im/xmpp/jid"
)

// ChatDomain is the XMPP domain of the JIDs handed out to the wiki
// (session API, migration API, room members): session.domain, else the
// first of domains.
func (c Config) ChatDomain() string {
	if c.Session.Domain != "" || len(c.Domains) == 0 {
		return c.Session.Domain
	}
	return c.Domains[0]
}

// Account is the sync account (rooms.jid), parsed; an error names the
// key.
func (r Rooms) Account() (jid.JID, error) {
	j, err := jid.Parse(r.JID)
	if err != nil {
		return jid.JID{}, fmt.Errorf("rooms.jid: %w", err)
	}
	return j, nil
}

// Address is host:port of the chat server's client listener that the
// sync account (and the migration API) signs in to: rooms.server, else
// the rooms.jid domain's port 5222; "" when neither is known.
func (r Rooms) Address() string {
	if r.Server != "" {
		return r.Server
	}
	j, err := jid.Parse(r.JID)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(j.Domainpart(), "5222")
}

// ChatAddress is host:port of the chat server's client listener as the
// settings name it, for a health check: rooms.server, else port 5222 of
// the host proxy.websocket_upstream names (the chat server the widget
// reaches); "" when neither is set. Unlike Rooms.Address it never guesses
// from rooms.jid's domain, which may be a name of the outside world.
func (c Config) ChatAddress() string {
	if c.Rooms.Server != "" {
		return c.Rooms.Server
	}
	if u, err := url.Parse(c.Proxy.WebSocketUpstream); err == nil && u.Hostname() != "" {
		return net.JoinHostPort(u.Hostname(), "5222")
	}
	return ""
}

// ProxyAddress is host:port of proxy.websocket_upstream (the chat
// server's HTTP listener), for a health check; "" when it is not set.
func (c Config) ProxyAddress() string {
	u, err := url.Parse(c.Proxy.WebSocketUpstream)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" || u.Scheme == "https" {
			port = "443"
		}
		return net.JoinHostPort(u.Hostname(), port)
	}
	return u.Host
}
