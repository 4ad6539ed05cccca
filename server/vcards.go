package server

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider/session"
	"livechat-auth/xmpp/ejabberdapi"
)

// vcards makes the vCards of widget users follow the wiki: after a
// granted session, FN and NICKNAME are set to the wiki display name
// through ejabberd's API, in the background, when the name changed since
// this process last set it.
type vcards struct {
	api *ejabberdapi.Client
	log hclog.Logger

	mu  sync.Mutex
	set map[string]string // bare JID → display name set
}

// maxVCards bounds the names remembered; past it the record starts over
// (a name is then set once more).
const maxVCards = 100000

func newVCards(url string, log hclog.Logger) *vcards {
	return &vcards{api: &ejabberdapi.Client{URL: url}, log: log, set: map[string]string{}}
}

// granted is session.Config.Granted.
func (v *vcards) granted(address string, p session.Profile) {
	v.mu.Lock()
	if v.set[address] == p.DisplayName {
		v.mu.Unlock()
		return
	}
	if len(v.set) >= maxVCards {
		v.set = map[string]string{}
	}
	v.set[address] = p.DisplayName
	v.mu.Unlock()
	go func() {
		j, err := jid.Parse(address)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, field := range []string{"FN", "NICKNAME"} {
			if err := v.api.SetVCard(ctx, j.Localpart(), j.Domainpart(), field, p.DisplayName); err != nil {
				v.log.Warn("the chat server's vCard was not set", "jid", address, "field", field, "error", err)
				v.mu.Lock()
				delete(v.set, address) // try again at the next session
				v.mu.Unlock()
				return
			}
		}
		v.log.Debug("vCard set from the wiki", "jid", address)
	}()
}
