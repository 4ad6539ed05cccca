package app

import (
	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/rooms"
)

var _ rooms.Members = provider.RoomMembers{}

// NewSyncer builds the room syncer of the settings (rooms.*).
func NewSyncer(cfg config.Config, store *wikidb.Store, log hclog.Logger) (*rooms.Syncer, error) {
	rc := rooms.Config{Managed: cfg.Domains, Domain: cfg.ChatDomain(), RoomTimeout: cfg.Rooms.RoomTimeout, Settings: map[string]rooms.Settings{}}
	rc.Defaults = roomSettings(cfg.Rooms.Defaults)
	for name, s := range cfg.Rooms.Settings {
		j, err := cfg.RoomJID(name)
		if err != nil {
			return nil, err
		}
		rc.Settings[j.String()] = roomSettings(s)
	}
	for _, r := range cfg.Rooms.Rules {
		rule := rooms.Rule{Group: r.Group, Affiliation: r.Affiliation}
		for _, name := range r.Rooms {
			j, err := cfg.RoomJID(name)
			if err != nil {
				return nil, err
			}
			rule.Rooms = append(rule.Rooms, j)
		}
		rc.Rules = append(rc.Rules, rule)
	}
	return rooms.New(provider.RoomMembers{Groups: store}, log, rc)
}

func roomSettings(s config.RoomSettings) rooms.Settings {
	return rooms.Settings{Name: s.Name, Description: s.Description, Persistent: s.Persistent, MembersOnly: s.MembersOnly, Moderated: s.Moderated}
}
