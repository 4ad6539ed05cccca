package rooms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"
)

// Rule grants an affiliation in some rooms to the members of a wiki group.
type Rule struct {
	Group       string
	Rooms       []jid.JID
	Affiliation string // owner, admin, member or outcast
}

// Members lists the localparts of a wiki group's members who may take
// part in rooms (inclusions counted; suspended and unmigrated accounts
// left out).
type Members interface {
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Chat is what a run needs of the chat server; *Client implements it.
type Chat interface {
	Self() jid.JID
	Exists(ctx context.Context, room jid.JID) (bool, error)
	Create(ctx context.Context, room jid.JID, s Settings) error
	Config(ctx context.Context, room jid.JID) (map[string]string, error)
	Configure(ctx context.Context, room jid.JID, fields map[string]string) error
	Affiliations(ctx context.Context, room jid.JID) (map[string]string, error)
	SetAffiliations(ctx context.Context, room jid.JID, changes []Change) error
}

// Config configures a Syncer.
type Config struct {
	Rules       []Rule
	Settings    map[string]Settings // by room bare JID; rooms without an entry get Defaults
	Defaults    Settings
	Domain      string        // XMPP domain of the users' JIDs
	Managed     []string      // domains whose JIDs the rules manage (default: Domain)
	RoomTimeout time.Duration // bound of one room's work (default 30s)
}

// Syncer runs syncs. It is safe for concurrent use, but runs should not
// overlap.
type Syncer struct {
	members Members
	cfg     Config
	log     hclog.Logger
}

// New checks cfg and returns a Syncer.
func New(members Members, log hclog.Logger, cfg Config) (*Syncer, error) {
	if members == nil || log == nil {
		return nil, errors.New("rooms: nil dependency")
	}
	if cfg.Domain == "" {
		return nil, errors.New("rooms: no user domain")
	}
	for _, r := range cfg.Rules {
		if !ValidAffiliation(r.Affiliation) {
			return nil, fmt.Errorf("rooms: rule for %q: affiliation %q is not owner, admin, member or outcast", r.Group, r.Affiliation)
		}
	}
	if len(cfg.Managed) == 0 {
		cfg.Managed = []string{cfg.Domain}
	}
	if cfg.RoomTimeout <= 0 {
		cfg.RoomTimeout = 30 * time.Second
	}
	return &Syncer{members: members, cfg: cfg, log: log}, nil
}

// RoomResult is what a run did, or would do, to one room.
type RoomResult struct {
	Room       jid.JID
	Created    bool
	Configured map[string]string // settings changed (field → new value)
	Changes    []Change
	Err        error
}

// Summary is the outcome of a run.
type Summary struct {
	Rooms   []RoomResult
	DryRun  bool
	Reads   int64 // requests sent that only read (filled by the caller's client)
	Writes  int64
	Elapsed time.Duration
}

// Changed counts the affiliation changes made (or planned).
func (s Summary) Changed() int {
	n := 0
	for _, r := range s.Rooms {
		n += len(r.Changes)
	}
	return n
}

// Failed lists the rooms that failed.
func (s Summary) Failed() []RoomResult {
	var out []RoomResult
	for _, r := range s.Rooms {
		if r.Err != nil {
			out = append(out, r)
		}
	}
	return out
}

// Desired computes the desired affiliations of every room the rules name.
// An error means no run may change anything: a wiki that cannot be read,
// or a group that does not exist, is never taken for a group with no
// members.
func (s *Syncer) Desired(ctx context.Context) (map[string]Desired, error) {
	byGroup := map[string][]string{}
	desired := map[string]Desired{}
	for _, r := range s.cfg.Rules {
		members, ok := byGroup[r.Group]
		if !ok {
			var err error
			if members, err = s.members.GroupMembers(ctx, r.Group); err != nil {
				return nil, fmt.Errorf("members of %q: %w", r.Group, err)
			}
			byGroup[r.Group] = members
		}
		for _, room := range r.Rooms {
			d := desired[room.Bare().String()]
			if d == nil {
				d = Desired{}
				desired[room.Bare().String()] = d
			}
			for _, local := range members {
				d.Add(local+"@"+s.cfg.Domain, r.Affiliation)
			}
		}
	}
	return desired, nil
}

// Run brings every room in line with the rules. With dryRun it reads only
// and reports what it would do. A failing room is reported in its
// RoomResult and the others go on; err is set only when nothing could be
// done (the wiki could not be read).
func (s *Syncer) Run(ctx context.Context, chat Chat, dryRun bool) (Summary, error) {
	start := time.Now()
	sum := Summary{DryRun: dryRun}
	desired, err := s.Desired(ctx)
	if err != nil {
		return sum, err
	}
	rooms := make([]string, 0, len(desired))
	for room := range desired {
		rooms = append(rooms, room)
	}
	sort.Strings(rooms)
	managed := managedBy(s.cfg.Managed, chat.Self().String())
	granted := s.granted()
	for _, room := range rooms {
		roomJID, err := jid.Parse(room)
		if err != nil {
			sum.Rooms = append(sum.Rooms, RoomResult{Err: fmt.Errorf("room %q: %w", room, err)})
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RoomTimeout)
		res := s.syncRoom(rctx, chat, roomJID, desired[room], managed, granted[room], dryRun)
		cancel()
		s.logRoom(res, dryRun)
		sum.Rooms = append(sum.Rooms, res)
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

func (s *Syncer) settingsOf(room string) Settings {
	if st, ok := s.cfg.Settings[room]; ok {
		return st
	}
	return s.cfg.Defaults
}

// granted lists, per room, the affiliation kinds its rules grant.
func (s *Syncer) granted() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, r := range s.cfg.Rules {
		for _, room := range r.Rooms {
			k := room.Bare().String()
			if out[k] == nil {
				out[k] = map[string]bool{}
			}
			out[k][r.Affiliation] = true
		}
	}
	return out
}

func (s *Syncer) syncRoom(ctx context.Context, chat Chat, room jid.JID, want Desired, managed func(string) bool, granted map[string]bool, dryRun bool) RoomResult {
	res := RoomResult{Room: room}
	settings := s.settingsOf(room.String())
	exists, err := chat.Exists(ctx, room)
	if err != nil {
		res.Err = fmt.Errorf("look up %s: %w", room, err)
		return res
	}
	current := map[string]string{}
	if !exists {
		res.Created = true
		res.Configured = settings.fields()
		if !dryRun {
			if err := chat.Create(ctx, room, settings); err != nil {
				res.Err = err
				return res
			}
			if err := s.checkSettings(ctx, chat, room, settings, &res, false); err != nil {
				res.Err = err
				return res
			}
		}
	} else if err := s.checkSettings(ctx, chat, room, settings, &res, dryRun); err != nil {
		res.Err = err
		return res
	}
	if exists || !dryRun {
		if current, err = chat.Affiliations(ctx, room); err != nil {
			res.Err = err
			return res
		}
	}
	res.Changes = Diff(current, want, managed, granted)
	if len(res.Changes) == 0 || dryRun {
		return res
	}
	if err := chat.SetAffiliations(ctx, room, res.Changes); err != nil {
		res.Err = err
		return res
	}
	if len(res.Changes) > 1 {
		res.Err = s.finishOneByOne(ctx, chat, room, want, managed, granted)
	}
	return res
}

// finishOneByOne reads the lists back after a batched change: a server
// may apply only the first item of a batch (Prosody 0.12 does) and still
// answer "result". What is missing is sent one item per request.
func (s *Syncer) finishOneByOne(ctx context.Context, chat Chat, room jid.JID, want Desired, managed func(string) bool, granted map[string]bool) error {
	current, err := chat.Affiliations(ctx, room)
	if err != nil {
		return err
	}
	for _, c := range Diff(current, want, managed, granted) {
		if err := chat.SetAffiliations(ctx, room, []Change{c}); err != nil {
			return err
		}
	}
	return nil
}

// checkSettings compares the room's settings with the wanted ones,
// submits the differences (unless dryRun) and reads them back: servers
// may accept a form and ignore fields.
func (s *Syncer) checkSettings(ctx context.Context, chat Chat, room jid.JID, settings Settings, res *RoomResult, dryRun bool) error {
	want := settings.fields()
	if len(want) == 0 {
		return nil
	}
	have, err := chat.Config(ctx, room)
	if err != nil {
		return err
	}
	diff := map[string]string{}
	for k, v := range want {
		got, offered := have[k]
		if !offered {
			// Not in this server's form (Prosody has no moderated flag):
			// nothing to enforce.
			s.log.Debug("setting not offered by the server", "room", room.String(), "field", k)
			continue
		}
		if !sameValue(got, v) {
			diff[k] = v
		}
	}
	if len(diff) == 0 {
		return nil
	}
	if res.Configured == nil {
		res.Configured = diff
	}
	if dryRun {
		return nil
	}
	if err := chat.Configure(ctx, room, diff); err != nil {
		return err
	}
	after, err := chat.Config(ctx, room)
	if err != nil {
		return err
	}
	for k, v := range diff {
		if !sameValue(after[k], v) {
			return fmt.Errorf("configure %s: the server kept %s = %q", room, k, after[k])
		}
	}
	return nil
}

// sameValue compares form values, reading booleans either way; a boolean
// field sent with no value (as Prosody does for false) is false.
func sameValue(a, b string) bool {
	norm := func(v string) string {
		switch strings.ToLower(v) {
		case "1", "true":
			return "1"
		case "0", "false":
			return "0"
		}
		return v
	}
	na, nb := norm(a), norm(b)
	return na == nb || (na == "" && nb == "0") || (na == "0" && nb == "")
}

func (s *Syncer) logRoom(res RoomResult, dryRun bool) {
	log := s.log.With("room", res.Room.String())
	verb := "changed"
	if dryRun {
		verb = "would change"
	}
	if res.Created {
		log.Info(map[bool]string{true: "would create room", false: "room created"}[dryRun])
	}
	if len(res.Configured) > 0 && !res.Created {
		log.Info(map[bool]string{true: "would reconfigure room", false: "room reconfigured"}[dryRun], "fields", len(res.Configured))
	}
	for _, c := range res.Changes {
		log.Info("affiliation "+verb, "jid", c.JID, "from", c.Was, "to", c.Affiliation)
	}
	if res.Err != nil {
		log.Error("room sync failed", "error", res.Err)
	}
}
