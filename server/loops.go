package server

import (
	"context"
	"time"

	"livechat-auth/provider"
	"livechat-auth/xmpp/guard"
	"livechat-auth/xmpp/httpauth"
	"livechat-auth/xmpp/rooms"
)

var _ guard.Accounts = (*provider.Authenticator)(nil)

// syncRooms runs the periodic room sync (rooms.Loop) with the running
// settings until ctx ends, and counts its runs.
func (s *Server) syncRooms(ctx context.Context) {
	rooms.Loop(ctx, func() rooms.Job {
		g := s.running.Load()
		return rooms.Job{Syncer: g.syncer, Login: g.admin, Interval: g.cfg.Rooms.Interval}
	}, s.log.Named("rooms"), s.m.roomSync)
}

// roomSyncRun is the last run of the room sync, for the status page.
type roomSyncRun struct {
	at  time.Time
	sum rooms.Summary
	err error
}

// watchSessions runs the session checks (guard.Loop) with the running
// settings until ctx ends, and counts them.
func (s *Server) watchSessions(ctx context.Context) {
	s.guard.Loop(ctx, func() guard.Watch {
		g := s.running.Load()
		return guard.Watch{Enabled: g.cfg.EndSessions.Enabled, Bound: g.cfg.EndSessions.Bound, Accounts: g.auth, Login: g.admin, Domains: g.cfg.Domains}
	}, s.m.sessionCheck)
}

// endingAware answers "exists" for an account whose sessions the guard is
// ending, so that a server that ends only existing accounts' sessions
// (Prosody asks first) ends a deleted or renamed one too.
type endingAware struct {
	httpauth.Authenticator
	guard *guard.Guard
}

func (e endingAware) UserExists(ctx context.Context, user, domain string) (bool, error) {
	if e.guard.Ending(user, domain) {
		return true, nil
	}
	return e.Authenticator.UserExists(ctx, user, domain)
}
