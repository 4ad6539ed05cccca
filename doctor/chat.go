package doctor

import (
	"context"
	"strconv"
	"time"

	"livechat-auth/config"
	"livechat-auth/wikidb"
)

// checkMigration asks the chat server (built by chat, Config.Chat), as
// the migration API would, whether a name nobody has is an account: the
// answer must be no.
func (d *report) checkMigration(ctx context.Context, cfg config.Config, store *wikidb.Store, chat func(context.Context, config.Config, *wikidb.Store) ChatServer) {
	if !cfg.Migration.Enabled {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	server := chat(ctx, cfg, store)
	how := "migration.ejabberd_api_url"
	if cfg.Migration.EjabberdAPIURL == "" {
		how = "rooms.jid as a server administrator (user-stats)"
	}
	exists, err := server.Exists(ctx, "livechat-auth-doctor-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	switch {
	case err != nil:
		d.say(verdictFail, "migration: the chat server cannot tell which names are accounts through "+how+": "+config.OneLine(err),
			"ejabberd: mod_http_api with mod_admin_extra and api_permissions for check_account; Prosody: rooms.jid in admins, mod_admin_adhoc")
	case exists:
		d.say(verdictFail, "migration: the chat server says a name nobody has is an account, through "+how,
			"ejabberd answers user-stats for any name: set migration.ejabberd_api_url")
	default:
		d.say(verdictOK, "migration: the chat server tells which names are accounts ("+how+")", "")
	}
}
