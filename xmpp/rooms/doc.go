// Package rooms keeps chat-room affiliations (XEP-0045) in step with wiki
// groups: rules map a wiki group to rooms and an affiliation (owner,
// admin, member, outcast); a run creates missing rooms with their
// settings, reads each room's affiliation lists, and sends only the
// changes, batched in one request per room.
//
// # What is managed
//
// Only JIDs of the configured wiki domains in rooms named by the rules;
// the sync account itself and every other JID keep their affiliations.
// When a user is in several rules for one room, outcast wins, then owner,
// admin, member. A run never stops at a failing room: it reports the
// failure and goes on.
package rooms
