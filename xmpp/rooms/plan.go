package rooms

import (
	"fmt"
	"sort"
	"strings"
)

// Affiliations in the order of precedence when several rules name one
// user in one room: the first wins.
var precedence = []string{"outcast", "owner", "admin", "member"}

// ValidAffiliation reports whether a is one a rule may grant.
func ValidAffiliation(a string) bool {
	for _, p := range precedence {
		if a == p {
			return true
		}
	}
	return false
}

func rank(a string) int {
	for i, p := range precedence {
		if a == p {
			return i
		}
	}
	return len(precedence)
}

// Desired is the affiliation each managed JID should have in one room.
type Desired map[string]string

// Add records that jid should have affiliation a, keeping the one of
// higher precedence when jid already has one.
func (d Desired) Add(jid, a string) {
	if old, ok := d[jid]; !ok || rank(a) < rank(old) {
		d[jid] = a
	}
}

// Change is one affiliation to set; Affiliation "none" removes one.
type Change struct {
	JID         string
	Affiliation string
	Was         string // the affiliation before, "none" if there was none
}

func (c Change) String() string { return fmt.Sprintf("%s: %s -> %s", c.JID, c.Was, c.Affiliation) }

// Grant is one affiliation the sync gave one JID in one room.
type Grant struct {
	JID         string
	Affiliation string
}

// recordStarted, in a Record, says that a run has written it before: an
// affiliation that is what the rules want joins the record only on the
// first run (grants of an earlier version or an earlier sync account);
// after that, one the record does not hold was set by hand, and stays.
var recordStarted = Grant{}

// Record holds the grants a room's sync made and that still stand there:
// it is what makes an affiliation managed. The sync account keeps it in
// its private XML storage on the chat server, one per room.
type Record map[Grant]bool

// Diff returns the changes that turn current into desired, touching only
// what is managed: a JID for which managed(jid) holds (the wiki's domains,
// not the sync account) that has no affiliation yet, or has the very one
// the record says the sync granted. Any other affiliation (a hand-set
// owner, an earlier sync account's ownership, a ban no rule gave) stays,
// whatever the rules say. Changes come sorted by JID.
func Diff(current map[string]string, desired Desired, managed func(jid string) bool, record Record) []Change {
	var changes []Change
	for jid, want := range desired {
		have := current[jid]
		if have == want || !managed(jid) || (have != "" && !record[Grant{jid, have}]) {
			continue
		}
		changes = append(changes, Change{JID: jid, Affiliation: want, Was: none(have)})
	}
	for jid, have := range current {
		if _, wanted := desired[jid]; !wanted && managed(jid) && record[Grant{jid, have}] {
			changes = append(changes, Change{JID: jid, Affiliation: "none", Was: have})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].JID < changes[j].JID })
	return changes
}

// nextRecord returns the record after the room was read as current: the
// grants in record that still stand and, on the record's first run only,
// every managed affiliation that is what the rules want (from then on it
// is the rules' to change). Later, an affiliation the record does not
// hold was set by hand: it is never adopted, so a hand-set owner who
// joins a rule's group and leaves it again keeps what was set by hand.
func nextRecord(current map[string]string, desired Desired, managed func(string) bool, record Record) Record {
	next := Record{recordStarted: true}
	first := !record[recordStarted]
	for jid, have := range current {
		if managed(jid) && (record[Grant{jid, have}] || first && desired[jid] == have) {
			next[Grant{jid, have}] = true
		}
	}
	return next
}

// withPlanned returns record plus the grants changes are about to make:
// written before the changes, so a run cut short never leaves a grant the
// record does not know of.
func withPlanned(record Record, changes []Change) Record {
	out := Record{}
	for g := range record {
		out[g] = true
	}
	for _, c := range changes {
		if c.Affiliation != "none" {
			out[Grant{c.JID, c.Affiliation}] = true
		}
	}
	return out
}

func sameRecord(a, b Record) bool {
	if len(a) != len(b) {
		return false
	}
	for g := range a {
		if !b[g] {
			return false
		}
	}
	return true
}

// applied splits changes into those current shows made and the rest.
func applied(changes []Change, current map[string]string) (made, missing []Change) {
	for _, c := range changes {
		if none(current[c.JID]) == c.Affiliation {
			made = append(made, c)
		} else {
			missing = append(missing, c)
		}
	}
	return made, missing
}

func none(a string) string {
	if a == "" {
		return "none"
	}
	return a
}

// managedBy returns the managed test for a set of wiki domains, leaving
// out the sync account itself.
func managedBy(domains []string, self string) func(string) bool {
	return func(jid string) bool {
		if strings.EqualFold(jid, self) {
			return false
		}
		_, domain, ok := strings.Cut(jid, "@")
		if !ok || strings.Contains(domain, "/") {
			return false
		}
		for _, d := range domains {
			if strings.EqualFold(domain, d) {
				return true
			}
		}
		return false
	}
}
