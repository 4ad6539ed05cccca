// Package admin lists the users online on a chat domain and ends their
// sessions, as a server administrator, with the service administration
// commands of XEP-0133 (ad-hoc commands, XEP-0050): ejabberd's
// mod_configure and Prosody's mod_admin_adhoc. It decides nothing: it
// runs what it is told over an account.Session.
package admin

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"livechat-auth/xmpp/account"
)

// The XEP-0133 commands used.
const (
	nodeOnlineUsers = "http://jabber.org/protocol/admin#get-online-users-list"
	nodeEndSession  = "http://jabber.org/protocol/admin#end-user-session"
	nodeUserStats   = "http://jabber.org/protocol/admin#user-stats"
	formType        = "http://jabber.org/protocol/admin"
)

// Client runs administration commands over a signed-in session.
type Client struct{ s *account.Session }

// New returns a Client on s; s must be an administrator of the domains it
// is asked about.
func New(s *account.Session) *Client { return &Client{s: s} }

// command is an ad-hoc command element, sent or answered.
type command struct {
	XMLName   xml.Name `xml:"http://jabber.org/protocol/commands command"`
	Node      string   `xml:"node,attr"`
	SessionID string   `xml:"sessionid,attr"`
	Status    string   `xml:"status,attr"`
	Notes     []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"note"`
	Form *form `xml:"jabber:x:data x"`
}

type form struct {
	Type   string  `xml:"type,attr"`
	Fields []field `xml:"field"`
}

type field struct {
	Var    string   `xml:"var,attr"`
	Type   string   `xml:"type,attr"`
	Values []string `xml:"value"`
}

func (f *form) field(name string) (field, bool) {
	if f == nil {
		return field{}, false
	}
	for _, fl := range f.Fields {
		if fl.Var == name {
			return fl, true
		}
	}
	return field{}, false
}

// run executes the command node at domain: it asks for the form, fills
// it with fill (given the form's fields) and submits it, and returns the
// completed answer.
func (c *Client) run(ctx context.Context, domain jid.JID, node string, fill func(*form) (map[string][]string, error)) (command, error) {
	var first command
	start := `<command xmlns="http://jabber.org/protocol/commands" action="execute" node="` + account.Escape(node) + `"/>`
	if err := c.s.IQ(ctx, domain, stanza.SetIQ, start, &first); err != nil {
		return command{}, fmt.Errorf("%s at %s: %w", node, domain, err)
	}
	if first.Status == "completed" {
		return first, nil
	}
	values, err := fill(first.Form)
	if err != nil {
		return command{}, fmt.Errorf("%s at %s: %w", node, domain, err)
	}
	var b strings.Builder
	b.WriteString(`<command xmlns="http://jabber.org/protocol/commands" node="` + account.Escape(node) + `" sessionid="` + account.Escape(first.SessionID) + `">`)
	b.WriteString(`<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>` + formType + `</value></field>`)
	for name, vals := range values {
		b.WriteString(`<field var="` + account.Escape(name) + `">`)
		for _, v := range vals {
			b.WriteString(`<value>` + account.Escape(v) + `</value>`)
		}
		b.WriteString(`</field>`)
	}
	b.WriteString(`</x></command>`)
	var done command
	if err := c.s.IQ(ctx, domain, stanza.SetIQ, b.String(), &done); err != nil {
		return command{}, fmt.Errorf("%s at %s: %w", node, domain, err)
	}
	for _, n := range done.Notes {
		if n.Type == "error" {
			return command{}, fmt.Errorf("%s at %s: %s", node, domain, strings.TrimSpace(n.Text))
		}
	}
	if done.Status != "completed" {
		return command{}, fmt.Errorf("%s at %s: the command ended %q", node, domain, done.Status)
	}
	return done, nil
}

// OnlineUsers returns the bare JIDs of the users with at least one
// session on domain.
func (c *Client) OnlineUsers(ctx context.Context, domain jid.JID) ([]jid.JID, error) {
	done, err := c.run(ctx, domain, nodeOnlineUsers, func(f *form) (map[string][]string, error) {
		values := map[string][]string{}
		if _, ok := f.field("max_items"); ok {
			values["max_items"] = []string{"all"}
		}
		return values, nil
	})
	if err != nil {
		return nil, err
	}
	var out []jid.JID
	seen := map[string]bool{}
	for _, name := range []string{"onlineuserjids", "onlineusers"} {
		fl, ok := done.Form.field(name)
		if !ok {
			continue
		}
		for _, v := range fl.Values {
			for _, line := range strings.Split(v, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "-") {
					continue // Prosody's details lines
				}
				j, err := jid.Parse(line)
				if err != nil || seen[j.Bare().String()] {
					continue
				}
				seen[j.Bare().String()] = true
				out = append(out, j.Bare())
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s at %s: the answer holds no list of users", nodeOnlineUsers, domain)
}

// ErrNotEnded is EndSessions' answer when the server ran the command but
// said it could not end the sessions.
var ErrNotEnded = errors.New("the server did not end the sessions")

// EndSessions ends every session of the bare JID user.
func (c *Client) EndSessions(ctx context.Context, user jid.JID) error {
	done, err := c.run(ctx, user.Domain(), nodeEndSession, func(f *form) (map[string][]string, error) {
		for _, name := range []string{"accountjids", "accountjid"} {
			if _, ok := f.field(name); ok {
				return map[string][]string{name: {user.Bare().String()}}, nil
			}
		}
		return nil, errors.New("the form asks for no account")
	})
	if err != nil {
		return err
	}
	for _, n := range done.Notes {
		if strings.Contains(n.Text, "could not be disconnected") {
			return fmt.Errorf("%s: %w: %s", user, ErrNotEnded, strings.TrimSpace(n.Text))
		}
	}
	return nil
}

// UserExists reports whether user is an account on its domain, by the
// user-stats command: Prosody's mod_admin_adhoc answers "User does not
// exist" for a name that is none. ejabberd's mod_configure answers for
// every name, so it cannot tell; use its HTTP API instead.
func (c *Client) UserExists(ctx context.Context, user jid.JID) (bool, error) {
	_, err := c.run(ctx, user.Domain(), nodeUserStats, func(f *form) (map[string][]string, error) {
		if _, ok := f.field("accountjid"); !ok {
			return nil, errors.New("the form asks for no account")
		}
		return map[string][]string{"accountjid": {user.Bare().String()}}, nil
	})
	switch {
	case err != nil && strings.Contains(err.Error(), "does not exist"):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
