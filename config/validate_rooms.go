package config

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"mellium.im/xmpp/jid"
)

// validateRooms checks the room sync settings; they matter only when
// there are rules.
func (c *Config) validateRooms() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	r := c.Rooms
	if len(r.Rules) == 0 {
		return nil
	}
	if j, err := jid.Parse(r.JID); err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		bad("rooms.jid", "required: the bare JID of the sync account")
	}
	if r.Password == "" && !c.Token.mints() {
		bad("rooms.password", "required with rules, unless a token key (token.signing_key_file or token.secret) can sign the sync account in")
	}
	if r.Server != "" {
		if _, _, err := net.SplitHostPort(r.Server); err != nil {
			bad("rooms.server", "\""+r.Server+"\" is not host:port")
		}
	}
	if r.TLS != "starttls" && r.TLS != "none" {
		bad("rooms.tls", "\""+r.TLS+"\" is not starttls or none")
	}
	if r.TLS == "none" {
		if host, _, err := net.SplitHostPort(r.Server); err != nil || !isLoopback(host) {
			bad("rooms.tls", "none only with a loopback rooms.server: the password would travel in the clear")
		}
	}
	if r.Interval < 0 {
		bad("rooms.interval", "must not be negative (0: no periodic sync)")
	}
	if r.RoomTimeout <= 0 {
		bad("rooms.room_timeout", "must be positive")
	}
	return append(errs, c.validateRoomRules()...)
}

// validateRoomRules checks each of rooms.rules, and that every room of
// the rules and of rooms.settings names a room JID.
func (c *Config) validateRoomRules() []error {
	var errs []error
	bad := func(key, problem string) { errs = append(errs, errors.New(key+": "+problem)) }
	checkRoom := func(key, room string) {
		if _, err := c.RoomJID(room); err != nil {
			bad(key, err.Error())
		}
	}
	for i, rule := range c.Rooms.Rules {
		key := fmt.Sprintf("rooms.rules[%d]", i)
		if rule.Group == "" {
			bad(key+".group", "required")
		}
		switch rule.Affiliation {
		case "owner", "admin", "member", "outcast":
		default:
			bad(key+".affiliation", "\""+rule.Affiliation+"\" is not owner, admin, member or outcast")
		}
		if len(rule.Rooms) == 0 {
			bad(key+".rooms", "required")
		}
		for _, room := range rule.Rooms {
			checkRoom(key+".rooms", room)
		}
	}
	for room := range c.Rooms.Settings {
		checkRoom("rooms.settings", room)
	}
	return errs
}

// RoomJID returns a room's bare JID: room itself when it holds a domain,
// else room@rooms.service.
func (c *Config) RoomJID(room string) (jid.JID, error) {
	s := room
	if !strings.Contains(room, "@") {
		if c.Rooms.Service == "" {
			return jid.JID{}, fmt.Errorf("room %q has no domain and rooms.service is not set", room)
		}
		s = room + "@" + c.Rooms.Service
	}
	j, err := jid.Parse(s)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return jid.JID{}, fmt.Errorf("room %q is not a bare room JID", room)
	}
	return j, nil
}
