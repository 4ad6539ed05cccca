package rooms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/muc"
	"mellium.im/xmpp/stanza"

	"livechat-auth/xmpp/account"
)

// Client is the sync account's XMPP session. It counts the requests it
// sends. Close ends it.
type Client struct {
	*account.Session
	muc *muc.Client
}

// DialConfig says how to reach the chat server.
type DialConfig = account.Config

// Dial signs the sync account in and starts serving its session.
func Dial(ctx context.Context, cfg DialConfig) (*Client, error) {
	m := &muc.Client{}
	s, err := account.Dial(ctx, cfg, muc.HandleClient(m))
	if err != nil {
		return nil, err
	}
	return &Client{Session: s, muc: m}, nil
}

// SignIn signs the sync account in with a fresh password (see
// account.Login) and starts serving its session.
func SignIn(ctx context.Context, login account.Login) (*Client, error) {
	m := &muc.Client{}
	s, err := login.Dial(ctx, muc.HandleClient(m))
	if err != nil {
		return nil, err
	}
	return &Client{Session: s, muc: m}, nil
}

// iq sends an IQ and counts it.
func (c *Client) iq(ctx context.Context, to jid.JID, typ stanza.IQType, payload string, v any) error {
	return c.IQ(ctx, to, typ, payload, v)
}

// Exists reports whether a room exists (disco#info answers).
func (c *Client) Exists(ctx context.Context, room jid.JID) (bool, error) {
	err := c.iq(ctx, room, stanza.GetIQ, `<query xmlns="http://jabber.org/protocol/disco#info"/>`, nil)
	var se stanza.Error
	if errors.As(err, &se) && se.Condition == stanza.ItemNotFound {
		return false, nil
	}
	return err == nil, err
}

// Create makes a room by joining it, submits its settings (which unlocks
// a new room), and leaves.
func (c *Client) Create(ctx context.Context, room jid.JID, s Settings) error {
	nick, err := room.WithResource("livechat-auth-sync")
	if err != nil {
		return err
	}
	c.CountWrite()
	ch, err := c.muc.Join(ctx, nick, c.XMPP())
	if err != nil {
		return fmt.Errorf("create %s: %w", room, err)
	}
	fields := s.fields()
	if s.Persistent == nil {
		fields["muc#roomconfig_persistentroom"] = "1" // else the room vanishes once the sync account leaves
	}
	confErr := c.Configure(ctx, room, fields)
	leaveErr := ch.Leave(ctx, "")
	c.CountWrite()
	return errors.Join(confErr, leaveErr)
}

// Settings are the room settings a rule set enforces; nil leaves one as
// the server has it.
type Settings struct {
	Name        string
	Description string
	Persistent  *bool
	MembersOnly *bool
	Moderated   *bool
}

// fields maps settings to muc#roomconfig form fields.
func (s Settings) fields() map[string]string {
	f := map[string]string{}
	if s.Name != "" {
		f["muc#roomconfig_roomname"] = s.Name
	}
	if s.Description != "" {
		f["muc#roomconfig_roomdesc"] = s.Description
	}
	for name, b := range map[string]*bool{
		"muc#roomconfig_persistentroom": s.Persistent,
		"muc#roomconfig_membersonly":    s.MembersOnly,
		"muc#roomconfig_moderatedroom":  s.Moderated,
	} {
		if b != nil {
			f[name] = map[bool]string{true: "1", false: "0"}[*b]
		}
	}
	return f
}

// configQuery is a muc#owner answer holding a data form.
type configQuery struct {
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"jabber:x:data x>field"`
}

// Config reads a room's configuration form: field → first value.
func (c *Client) Config(ctx context.Context, room jid.JID) (map[string]string, error) {
	var q configQuery
	if err := c.iq(ctx, room, stanza.GetIQ, `<query xmlns="http://jabber.org/protocol/muc#owner"/>`, &q); err != nil {
		return nil, fmt.Errorf("read the settings of %s: %w", room, err)
	}
	out := map[string]string{}
	for _, f := range q.Fields {
		if len(f.Values) > 0 {
			out[f.Var] = f.Values[0]
		} else {
			out[f.Var] = ""
		}
	}
	return out, nil
}

// Configure submits the given fields of the room configuration form.
func (c *Client) Configure(ctx context.Context, room jid.JID, fields map[string]string) error {
	var b strings.Builder
	b.WriteString(`<query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit">`)
	b.WriteString(`<field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>`)
	for name, value := range fields {
		fmt.Fprintf(&b, `<field var="%s"><value>%s</value></field>`, escape(name), escape(value))
	}
	b.WriteString(`</x></query>`)
	if err := c.iq(ctx, room, stanza.SetIQ, b.String(), nil); err != nil {
		return fmt.Errorf("configure %s: %w", room, err)
	}
	return nil
}

// affiliationQuery is a muc#admin answer.
type affiliationQuery struct {
	Items []struct {
		JID         string `xml:"jid,attr"`
		Affiliation string `xml:"affiliation,attr"`
	} `xml:"http://jabber.org/protocol/muc#admin item"`
}

// Affiliations reads the room's owner, admin, member and outcast lists
// (one request each) and returns bare JID → affiliation.
func (c *Client) Affiliations(ctx context.Context, room jid.JID) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range precedence {
		var q affiliationQuery
		payload := fmt.Sprintf(`<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="%s"/></query>`, a)
		if err := c.iq(ctx, room, stanza.GetIQ, payload, &q); err != nil {
			return nil, fmt.Errorf("read %s list of %s: %w", a, room, err)
		}
		for _, it := range q.Items {
			if j, err := jid.Parse(it.JID); err == nil {
				out[j.Bare().String()] = a
			}
		}
	}
	return out, nil
}

// maxAdminPayload bounds one muc#admin request's payload: a server closes
// the stream of a client whose stanza passes its limit (ejabberd's
// max_stanza_size, 256 KiB in its example configuration; Prosody's
// c2s_stanza_size_limit, 256 KiB), and a room of 20,000 new members
// would be well over a megabyte in one request.
const maxAdminPayload = 60 << 10

// SetAffiliations sends the changes in muc#admin requests of at most
// maxAdminPayload bytes each, one request when they fit. A request the
// server refuses does not stop the next ones; the errors are joined.
func (c *Client) SetAffiliations(ctx context.Context, room jid.JID, changes []Change) error {
	const open, end = `<query xmlns="http://jabber.org/protocol/muc#admin">`, `</query>`
	var errs []error
	var b strings.Builder
	n := 0
	send := func() {
		b.WriteString(end)
		if err := c.iq(ctx, room, stanza.SetIQ, b.String(), nil); err != nil {
			errs = append(errs, fmt.Errorf("set %d affiliations in %s: %w", n, room, err))
		}
		b.Reset()
		n = 0
	}
	for _, ch := range changes {
		item := fmt.Sprintf(`<item affiliation="%s" jid="%s"/>`, ch.Affiliation, escape(ch.JID))
		if n > 0 && b.Len()+len(item)+len(end) > maxAdminPayload {
			send()
		}
		if n == 0 {
			b.WriteString(open)
		}
		b.WriteString(item)
		n++
	}
	if n > 0 {
		send()
	}
	return errors.Join(errs...)
}

func escape(s string) string { return account.Escape(s) }

// recordNS names the private XML element (XEP-0049) holding one room's
// record: private storage keys elements by namespace, so each room has
// its own.
func recordNS(room jid.JID) string { return "urn:livechat-auth:room-sync:" + room.Bare().String() }

// recordQuery is a jabber:iq:private answer holding a record, or one part
// of it: per affiliation, the bare JIDs granted it, separated by spaces
// (no JID holds one).
type recordQuery struct {
	Owner   string `xml:"granted>owner"`
	Admin   string `xml:"granted>admin"`
	Member  string `xml:"granted>member"`
	Outcast string `xml:"granted>outcast"`
	Started string `xml:"granted>started"` // present once a run has written the record
	Parts   string `xml:"granted>parts"`   // in the first part: how many there are (absent: 1)
}

// partNS names part i of a room's record: the first is recordNS itself,
// so a record of one part is what it always was.
func partNS(room jid.JID, i int) string {
	if i == 0 {
		return recordNS(room)
	}
	return fmt.Sprintf("%s#part%d", recordNS(room), i)
}

// Record reads what the sync account granted in room from its private
// XML storage: the first part, then the others it counts.
func (c *Client) Record(ctx context.Context, room jid.JID) (Record, error) {
	r := Record{}
	for i, parts := 0, 1; i < parts; i++ {
		var q recordQuery
		payload := fmt.Sprintf(`<query xmlns="jabber:iq:private"><granted xmlns="%s"/></query>`, escape(partNS(room, i)))
		if err := c.iq(ctx, c.Self(), stanza.GetIQ, payload, &q); err != nil {
			return nil, fmt.Errorf("read the sync record of %s from private XML storage (XEP-0049): %w", room, err)
		}
		if i == 0 {
			if q.Started != "" {
				r[recordStarted] = true
			}
			if n, err := strconv.Atoi(q.Parts); err == nil && n > 1 {
				parts = min(n, 10000) // a bound on a corrupt count
			}
		}
		for a, list := range map[string]string{"owner": q.Owner, "admin": q.Admin, "member": q.Member, "outcast": q.Outcast} {
			for _, j := range strings.Fields(list) {
				r[Grant{j, a}] = true
			}
		}
	}
	return r, nil
}

// SetRecord replaces the room's record in private XML storage, in parts
// of at most maxAdminPayload bytes (a room of 20,000 members would be a
// stanza of over 300 KiB), the first counting them. Parts a larger record
// left beyond the count are not read.
func (c *Client) SetRecord(ctx context.Context, room jid.JID, r Record) error {
	lists := map[string][]string{}
	for g := range r {
		if g != recordStarted {
			lists[g.Affiliation] = append(lists[g.Affiliation], g.JID)
		}
	}
	// Each part's lists, filled in precedence order up to the bound.
	var parts []map[string][]string
	size := maxAdminPayload // forces a first part
	for _, a := range precedence {
		sort.Strings(lists[a])
		for _, j := range lists[a] {
			if size+len(j)+1 > maxAdminPayload {
				parts = append(parts, map[string][]string{})
				size = 512 // the elements around the lists
			}
			parts[len(parts)-1][a] = append(parts[len(parts)-1][a], j)
			size += len(escape(j)) + 1
		}
	}
	if len(parts) == 0 {
		parts = append(parts, map[string][]string{})
	}
	// The first part, which counts the others, is written last: a run cut
	// short leaves the earlier record's count, not one naming parts that
	// were never written.
	for i := len(parts) - 1; i >= 0; i-- {
		part := parts[i]
		var b strings.Builder
		fmt.Fprintf(&b, `<query xmlns="jabber:iq:private"><granted xmlns="%s">`, escape(partNS(room, i)))
		for _, a := range precedence {
			fmt.Fprintf(&b, `<%s>%s</%s>`, a, escape(strings.Join(part[a], " ")), a)
		}
		if i == 0 {
			if r[recordStarted] {
				b.WriteString(`<started>1</started>`)
			}
			if len(parts) > 1 {
				fmt.Fprintf(&b, `<parts>%d</parts>`, len(parts))
			}
		}
		b.WriteString(`</granted></query>`)
		if err := c.iq(ctx, c.Self(), stanza.SetIQ, b.String(), nil); err != nil {
			return fmt.Errorf("store the sync record of %s in private XML storage (XEP-0049), part %d of %d: %w", room, i+1, len(parts), err)
		}
	}
	return nil
}
