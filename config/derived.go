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
// settings name it, for a health check: rooms.server, else the host of
// proxy.websocket_upstream; "" when neither is set. Unlike Rooms.Address
// it never guesses port 5222 of rooms.jid's domain.
func (c Config) ChatAddress() string {
	if c.Rooms.Server != "" {
		return c.Rooms.Server
	}
	if u, err := url.Parse(c.Proxy.WebSocketUpstream); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}
