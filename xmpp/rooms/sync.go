package rooms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// Members lists the localparts of wiki groups' members who may take part
// in rooms (inclusions counted; suspended and unmigrated accounts left
// out), keyed by the group name asked, all groups in one read. A group the
// wiki does not have is an error.
type Members interface {
	GroupMembers(ctx context.Context, groups []string) (map[string][]string, error)
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
	// Record reads what the sync granted in room; an empty Record if
	// nothing is stored. SetRecord replaces it.
	Record(ctx context.Context, room jid.JID) (Record, error)
	SetRecord(ctx context.Context, room jid.JID, r Record) error
}

// Config configures a Syncer.
type Config struct {
	Rules       []Rule
	Settings    map[string]Settings // by room bare JID; rooms without an entry get Defaults
	Defaults    Settings
	Domain      string        // XMPP domain of the users' JIDs
	Managed     []string      // domains whose JIDs the rules manage (default: Domain)
	RoomTimeout time.Duration // bound of one room's work (default 30s)
	// Parallel is how many rooms are synced at once (default 4): each
	// room is a process of its own in the chat server, and its lists
	// are read and written over the one session, so rooms side by side
	// wait on the server's cores rather than on the round trips.
	Parallel int
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
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	return &Syncer{members: members, cfg: cfg, log: log}, nil
}

// RoomResult is what a run did, or would do, to one room.
type RoomResult struct {
	Room       jid.JID
	Created    bool
	Configured map[string]string // settings changed (field → new value)
	Changes    []Change          // made, as read back (planned, in a dry run)
	Refused    []Change          // sent but not made: the server refused or ignored them
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

// Changed counts the affiliation changes made, as read back from the
// server (or planned, in a dry run).
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
	groups := make([]string, 0, len(s.cfg.Rules))
	for _, r := range s.cfg.Rules {
		groups = append(groups, r.Group)
	}
	byGroup, err := s.members.GroupMembers(ctx, groups)
	if err != nil {
		return nil, fmt.Errorf("members of the rules' groups: %w", err)
	}
	desired := map[string]Desired{}
	for _, r := range s.cfg.Rules {
		members, ok := byGroup[r.Group]
		if !ok {
			return nil, fmt.Errorf("members of %q: not in the wiki's answer", r.Group)
		}
		jids := make([]string, len(members))
		for i, local := range members {
			jids[i] = local + "@" + s.cfg.Domain
		}
		for _, room := range r.Rooms {
			d := desired[room.Bare().String()]
			if d == nil {
				d = Desired{}
				desired[room.Bare().String()] = d
			}
			for _, j := range jids {
				d.Add(j, r.Affiliation)
			}
		}
	}
	return desired, nil
}

// Run brings every room in line with the rules. With dryRun it reads only
// and reports what it would do. A failing room is reported in its
// RoomResult and the others go on; err is set only when nothing could be
// done (the wiki could not be read).
//
// The wiki is read while the rooms are: Parallel workers read rooms one
// after another, and a room read before the wiki has answered is set
// aside, to be planned and written once it has. Nothing is planned or
// written before that, so a wiki that cannot be read changes no room.
func (s *Syncer) Run(ctx context.Context, chat Chat, dryRun bool) (Summary, error) {
	start := time.Now()
	sum := Summary{DryRun: dryRun}
	rooms := s.rooms()
	wiki := make(chan struct{})
	var desired map[string]Desired
	var wikiErr error
	go func() {
		defer close(wiki)
		desired, wikiErr = s.Desired(ctx)
	}()
	managed := managedBy(s.cfg.Managed, chat.Self().String())
	results := make([]RoomResult, len(rooms))
	finish := func(st roomState) {
		if wikiErr == nil {
			results[st.i] = s.finishRoom(ctx, chat, st, desired[rooms[st.i]], managed, dryRun)
		}
	}
	var mu sync.Mutex
	var aside []roomState
	// drain finishes the rooms set aside, oldest first, as soon as the
	// wiki has answered: before any further room is read, so that a
	// room's lists are as little behind as can be.
	drain := func() {
		for {
			mu.Lock()
			if len(aside) == 0 {
				mu.Unlock()
				return
			}
			st := aside[0]
			aside = aside[1:]
			mu.Unlock()
			finish(st)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.cfg.Parallel, len(rooms)) {
		wg.Go(func() {
			for i := range next {
				st := s.readRoom(ctx, chat, i, rooms[i])
				select {
				case <-wiki:
					drain()
					finish(st)
				default:
					st.stale = true
					mu.Lock()
					aside = append(aside, st)
					mu.Unlock()
				}
			}
			<-wiki
			drain()
		})
	}
	for i := range rooms {
		next <- i
	}
	close(next)
	wg.Wait()
	<-wiki // with no room there was no worker to wait for it
	if wikiErr != nil {
		return sum, wikiErr
	}
	sum.Rooms = results
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// rooms lists, sorted, the bare JIDs of the rooms the rules name.
func (s *Syncer) rooms() []string {
	var rooms []string
	for _, r := range s.cfg.Rules {
		for _, room := range r.Rooms {
			rooms = append(rooms, room.Bare().String())
		}
	}
	slices.Sort(rooms)
	return slices.Compact(rooms)
}

func (s *Syncer) settingsOf(room string) Settings {
	if st, ok := s.cfg.Settings[room]; ok {
		return st
	}
	return s.cfg.Defaults
}

// roomState is what the i-th room of a run had when it was read.
type roomState struct {
	i       int
	room    jid.JID
	exists  bool
	config  map[string]string // nil when the room has no settings to check
	current map[string]string // affiliations
	record  Record
	err     error         // the room could not be read
	took    time.Duration // reading it took this much of RoomTimeout
	stale   bool          // read before the wiki answered: set aside
}

// readRoom reads, within RoomTimeout, what the room named name has: a
// room that does not exist yet has nothing more to read.
func (s *Syncer) readRoom(ctx context.Context, chat Chat, i int, name string) (st roomState) {
	st = roomState{i: i, current: map[string]string{}, record: Record{}}
	if st.room, st.err = jid.Parse(name); st.err != nil {
		st.err = fmt.Errorf("room %q: %w", name, st.err)
		return st
	}
	began := time.Now()
	defer func() { st.took = time.Since(began) }()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RoomTimeout)
	defer cancel()
	if st.exists, st.err = chat.Exists(ctx, st.room); st.err != nil {
		st.err = fmt.Errorf("look up %s: %w", st.room, st.err)
		return st
	}
	if !st.exists {
		return st
	}
	if len(s.settingsOf(name).fields()) > 0 {
		if st.config, st.err = chat.Config(ctx, st.room); st.err != nil {
			return st
		}
	}
	st.current, st.record, st.err = readLists(ctx, chat, st.room)
	return st
}

// readLists reads a room's affiliations and the sync's record of what it
// granted there.
func readLists(ctx context.Context, chat Chat, room jid.JID) (map[string]string, Record, error) {
	current, err := chat.Affiliations(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	record, err := chat.Record(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	return current, record, nil
}

// finishRoom plans, within RoomTimeout, what the room read as st needs to
// have want, and (unless dryRun) writes it, creating the room if needed;
// then logs what it did.
func (s *Syncer) finishRoom(ctx context.Context, chat Chat, st roomState, want Desired, managed func(string) bool, dryRun bool) RoomResult {
	res := RoomResult{Room: st.room, Err: st.err}
	if st.err == nil {
		// RoomTimeout bounds the room's whole work: what its read left.
		ctx, cancel := context.WithTimeout(ctx, max(s.cfg.RoomTimeout-st.took, 0))
		defer cancel()
		s.syncRoom(ctx, chat, st, want, managed, dryRun, &res)
	}
	s.logRoom(res, dryRun)
	return res
}

// syncRoom is finishRoom's work, its outcome recorded in res.
func (s *Syncer) syncRoom(ctx context.Context, chat Chat, st roomState, want Desired, managed func(string) bool, dryRun bool, res *RoomResult) {
	room, current, record := st.room, st.current, st.record
	settings := s.settingsOf(room.String())
	if !st.exists {
		res.Created = true
		res.Configured = settings.fields()
		if dryRun {
			res.Changes = Diff(current, want, managed, record)
			return
		}
		if err := chat.Create(ctx, room, settings); err != nil {
			res.Err = err
			return
		}
		if err := s.checkSettings(ctx, chat, room, settings, nil, res, false); err != nil {
			res.Err = err
			return
		}
		var err error
		if current, record, err = readLists(ctx, chat, room); err != nil {
			res.Err = err
			return
		}
	} else if err := s.checkSettings(ctx, chat, room, settings, st.config, res, dryRun); err != nil {
		res.Err = err
		return
	}
	plan := Diff(current, want, managed, record)
	if st.stale && st.exists && len(plan) > 0 && !dryRun {
		// Read before the wiki answered, maybe long ago: a ban or an
		// owner set by hand since must not be overwritten, so the lists
		// are read again before anything is written.
		var err error
		if current, record, err = readLists(ctx, chat, room); err != nil {
			res.Err = err
			return
		}
		plan = Diff(current, want, managed, record)
	}
	if dryRun {
		res.Changes = plan
		return
	}
	next := nextRecord(current, want, managed, record)
	if len(plan) == 0 {
		if !sameRecord(next, record) {
			res.Err = chat.SetRecord(ctx, room, next)
		}
		return
	}
	pending := withPlanned(next, plan)
	if err := chat.SetRecord(ctx, room, pending); err != nil {
		res.Err = err // nothing sent: a grant the record does not hold could never be taken back
		return
	}
	var after map[string]string
	res.Changes, res.Refused, after, res.Err = s.change(ctx, chat, room, plan)
	if after == nil {
		return // not read back: the record keeps the planned grants, still a superset
	}
	if next = nextRecord(after, want, managed, pending); !sameRecord(next, pending) {
		res.Err = errors.Join(res.Err, chat.SetRecord(ctx, room, next))
	}
}

// change sends plan in one request, reads the lists back, and sends what
// is missing one item per request: a server may refuse a whole batch for
// one item (ejabberd does) or apply only its first item and still answer
// "result" (Prosody 0.12 does). It returns the changes the lists show
// made and those they do not, with the server's reasons, and the lists
// as last read (nil if they could not be read: then nothing counts as
// made or refused, and err says so).
func (s *Syncer) change(ctx context.Context, chat Chat, room jid.JID, plan []Change) (made, refused []Change, after map[string]string, err error) {
	batchErr := chat.SetAffiliations(ctx, room, plan)
	if after, err = chat.Affiliations(ctx, room); err != nil {
		return nil, nil, nil, errors.Join(batchErr, fmt.Errorf("read back the lists of %s: %w", room, err))
	}
	made, missing := applied(plan, after)
	if len(missing) == 0 {
		return made, nil, after, nil
	}
	reasons := map[string]error{}
	if len(plan) == 1 {
		reasons[plan[0].JID] = batchErr
	} else {
		for _, c := range missing {
			reasons[c.JID] = chat.SetAffiliations(ctx, room, []Change{c})
		}
		if after, err = chat.Affiliations(ctx, room); err != nil {
			return nil, nil, nil, fmt.Errorf("read back the lists of %s: %w", room, err)
		}
		if made, missing = applied(plan, after); len(missing) == 0 {
			return made, nil, after, nil
		}
	}
	var errs []error
	for _, c := range missing {
		why := reasons[c.JID]
		if why == nil {
			why = fmt.Errorf("the server answered but kept %s", none(after[c.JID]))
		}
		errs = append(errs, fmt.Errorf("%s: %w", c, why))
	}
	return made, missing, after, fmt.Errorf("the server refused %d of %d changes: %w", len(missing), len(plan), errors.Join(errs...))
}

// checkSettings compares the room's settings, have (nil: read them now),
// with the wanted ones, submits the differences (unless dryRun) and reads
// them back: servers may accept a form and ignore fields.
func (s *Syncer) checkSettings(ctx context.Context, chat Chat, room jid.JID, settings Settings, have map[string]string, res *RoomResult, dryRun bool) error {
	want := settings.fields()
	if len(want) == 0 {
		return nil
	}
	if have == nil {
		var err error
		if have, err = chat.Config(ctx, room); err != nil {
			return err
		}
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
	for _, c := range res.Refused {
		log.Warn("affiliation change refused", "jid", c.JID, "from", c.Was, "to", c.Affiliation)
	}
	if res.Err != nil {
		log.Error("room sync failed", "error", res.Err)
	}
}
