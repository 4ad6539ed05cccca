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

// Diff returns the changes that turn current into desired, touching only
// what the rules manage: a JID is managed when managed(jid) holds (the
// wiki's domains, not the sync account), and an affiliation it has now is
// managed when the room's rules grant that kind (granted). A hand-set
// affiliation of another kind (an owner or a ban no rule names) stays.
// Changes come sorted by JID.
func Diff(current map[string]string, desired Desired, managed func(jid string) bool, granted map[string]bool) []Change {
	var changes []Change
	for jid, want := range desired {
		have := current[jid]
		if have == want || !managed(jid) || (have != "" && !granted[have]) {
			continue
		}
		changes = append(changes, Change{JID: jid, Affiliation: want, Was: none(have)})
	}
	for jid, have := range current {
		if _, wanted := desired[jid]; !wanted && managed(jid) && granted[have] {
			changes = append(changes, Change{JID: jid, Affiliation: "none", Was: have})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].JID < changes[j].JID })
	return changes
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
