// Package rooms keeps chat-room affiliations (XEP-0045) in step with wiki
// groups: rules map a wiki group to rooms and an affiliation (owner,
// admin, member, outcast); a run creates missing rooms with their
// settings, reads each room's affiliation lists, and sends only the
// changes, batched in one request per room (or several of under 60 KiB
// each, below the chat servers' stanza limits).
//
// # What is managed
//
// Only affiliations the sync granted, to JIDs of the configured wiki
// domains, in rooms named by the rules. The sync account records its
// grants per room in its private XML storage (XEP-0049), before sending
// them; on the record's first run, an affiliation that already matches
// the rules joins it (never later: it was set by hand). Anything
// the record does not hold (a hand-set owner, an earlier sync account's
// ownership, a ban no rule gave) is never changed or removed; a JID with
// no affiliation gets the one the rules want. When a user is in several
// rules for one room, outcast wins, then owner, admin, member.
//
// A change counts as made only when the lists read back show it: the
// rest is reported as refused and fails the room. A run never stops at a
// failing room: it reports the failure and goes on.
//
// # Running
//
// Syncer.Sync signs the sync account in (an account.Login), runs once and
// signs out; Loop does that periodically, with jitter and a backoff after
// failures, asking before each run for the syncer of the running settings.
package rooms
