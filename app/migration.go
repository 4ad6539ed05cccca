package app

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/ids"
	"livechat-auth/provider/migration"
	"livechat-auth/provider/session"
	"livechat-auth/wikidb"
	"livechat-auth/xmpp/account"
	"livechat-auth/xmpp/oldaccount"
)

var (
	_ migration.Accounts   = (*provider.Authenticator)(nil)
	_ migration.ChatServer = (*oldaccount.Server)(nil)
)

// NewMigration builds the migration API's handler (migration.*): its
// requests are signed with session.key and good once in seen, its
// decisions told to observe, and the chat server asked as MigrationChat.
func NewMigration(cfg config.Config, auth *provider.Authenticator, store *wikidb.Store, seen session.SeenRecord, observe provider.Observer, admin account.Login, log hclog.Logger) (*migration.Handler, error) {
	chat := MigrationChat(cfg, admin)
	suggest := func(ctx context.Context, login string, reserved []string) (string, error) {
		accounts, err := store.Accounts(ctx)
		if err != nil {
			return "", err
		}
		return ids.SuggestFor(ctx, store, login, accounts, ids.NewChatNames(reserved))
	}
	return migration.New(auth, chat, suggest, log, migration.Config{
		Key: []byte(cfg.Session.Key), MaxSkew: cfg.Session.MaxSkew, Domain: chat.Domain,
		Retire: cfg.Migration.OldAccount == "retire", Seen: seen, Observe: observe,
	})
}

// MigrationChat is the chat server the migration API signs in to:
// rooms.server (or the rooms.jid domain's port 5222), rooms.tls, and
// migration.ejabberd_api_url or the room-sync account (admin) as
// administrator to tell which names are accounts.
func MigrationChat(cfg config.Config, admin account.Login) *oldaccount.Server {
	chat := &oldaccount.Server{Addr: cfg.Rooms.Address(), Domain: cfg.ChatDomain(), TLS: cfg.Rooms.TLS, EjabberdAPI: cfg.Migration.EjabberdAPIURL}
	if chat.EjabberdAPI == "" {
		chat.Admin = admin.Config
	}
	return chat
}
