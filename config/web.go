package config

import "time"

// Serve is the HTTP listener of "livechat-auth serve".
type Serve struct {
	// serve.listen, LIVECHAT_AUTH_SERVE_LISTEN: address of the HTTP
	// listener (session API, keys, chat proxy). Default 127.0.0.1:8484.
	Listen string `yaml:"listen"`
	// serve.request_timeout, LIVECHAT_AUTH_SERVE_REQUEST_TIMEOUT: budget of
	// one API request (not of proxied chat connections). Default 5s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Token is how sign-in tokens are minted and verified. Tokens are on as
// soon as a key is configured.
type Token struct {
	// token.algorithms, LIVECHAT_AUTH_TOKEN_ALGORITHMS: the algorithms
	// accepted (HS256, RS256, ES256, EdDSA). Default: those of the
	// configured keys.
	Algorithms []string `yaml:"algorithms"`
	// token.signing_key_file, LIVECHAT_AUTH_TOKEN_SIGNING_KEY_FILE: PEM
	// private key (RSA, EC P-256 or Ed25519) that mints tokens; its public
	// half verifies them and is published. "livechat-auth keygen" makes one.
	SigningKeyFile string `yaml:"signing_key_file"`
	// token.secret, LIVECHAT_AUTH_TOKEN_SECRET: HS256 shared secret (at
	// least 32 bytes) for tokens minted by the wiki; it also mints when no
	// signing key is set. Replacing it revokes every older token.
	Secret Secret `yaml:"secret"`
	// token.secret_file, LIVECHAT_AUTH_TOKEN_SECRET_FILE: read the secret
	// from a file.
	SecretFile string `yaml:"secret_file"`
	// token.secret_kid, LIVECHAT_AUTH_TOKEN_SECRET_KID: kid naming the
	// secret; tokens without kid also use it.
	SecretKID string `yaml:"secret_kid"`
	// token.previous_secret, LIVECHAT_AUTH_TOKEN_PREVIOUS_SECRET: an older
	// secret still accepted during a rotation, under its own kid.
	PreviousSecret Secret `yaml:"previous_secret"`
	// token.previous_secret_kid, LIVECHAT_AUTH_TOKEN_PREVIOUS_SECRET_KID:
	// kid naming the previous secret; required with it, and not
	// token.secret_kid.
	PreviousSecretKID string `yaml:"previous_secret_kid"`
	// token.public_key_files, LIVECHAT_AUTH_TOKEN_PUBLIC_KEY_FILES: PEM
	// public keys of other minters (or of a previous signing key); each is
	// selected by its RFC 7638 thumbprint as kid.
	PublicKeyFiles []string `yaml:"public_key_files"`
	// token.jwks_url, LIVECHAT_AUTH_TOKEN_JWKS_URL: a JWKS fetched and
	// refreshed in the background; its keys are selected by kid.
	JWKSURL string `yaml:"jwks_url"`
	// token.jwks_refresh, LIVECHAT_AUTH_TOKEN_JWKS_REFRESH: how often the
	// JWKS of token.jwks_url is fetched again. Default 15m.
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// token.issuer, LIVECHAT_AUTH_TOKEN_ISSUER: iss of minted tokens,
	// required of every token. Default livechat-auth.
	Issuer string `yaml:"issuer"`
	// token.audience, LIVECHAT_AUTH_TOKEN_AUDIENCE: aud of minted tokens,
	// required of every token. Default xmpp.
	Audience string `yaml:"audience"`
	// token.lifetime, LIVECHAT_AUTH_TOKEN_LIFETIME: lifetime of minted
	// tokens (at most 10m). Default 5m.
	Lifetime time.Duration `yaml:"lifetime"`
	// token.subject_claim, LIVECHAT_AUTH_TOKEN_SUBJECT_CLAIM: the claim
	// naming the account. Default sub.
	SubjectClaim string `yaml:"subject_claim"`
	// token.subject, LIVECHAT_AUTH_TOKEN_SUBJECT: what that claim holds:
	// livechat_id, login or user_id. Default livechat_id.
	Subject string `yaml:"subject"`
	// token.replay_protection, LIVECHAT_AUTH_TOKEN_REPLAY_PROTECTION: one
	// sign-in per jti. Default true.
	ReplayProtection bool `yaml:"replay_protection"`
	// token.used_file, LIVECHAT_AUTH_TOKEN_USED_FILE: a file journaling
	// the used jtis, so a restart does not make a used token good again.
	// Default: beside extauth's daemon socket (serve with
	// extauth.daemon_socket, and the automatic daemon); otherwise none,
	// and a restart of serve forgets which tokens were used.
	UsedFile string `yaml:"used_file"`
}

// Enabled reports whether any token key is configured.
func (t Token) Enabled() bool {
	return t.SigningKeyFile != "" || t.Secret != "" || t.PreviousSecret != "" ||
		len(t.PublicKeyFiles) > 0 || t.JWKSURL != ""
}

// Session is the wiki-facing session API (POST /v1/sessions).
type Session struct {
	// session.key, LIVECHAT_AUTH_SESSION_KEY: HMAC-SHA256 key (at least 32
	// bytes) the wiki signs its requests with. The API is off without it.
	Key Secret `yaml:"key"`
	// session.key_file, LIVECHAT_AUTH_SESSION_KEY_FILE: read it from a file.
	KeyFile string `yaml:"key_file"`
	// session.max_skew, LIVECHAT_AUTH_SESSION_MAX_SKEW: how far a request's
	// timestamp may be from now. Default 5m.
	MaxSkew time.Duration `yaml:"max_skew"`
	// session.domain, LIVECHAT_AUTH_SESSION_DOMAIN: XMPP domain of the JIDs
	// handed out. Default: the first of domains.
	Domain string `yaml:"domain"`
	// session.websocket_url, LIVECHAT_AUTH_SESSION_WEBSOCKET_URL: the
	// WebSocket URL the widget connects to (often the proxy's path), handed
	// out in each granted session; empty: none.
	WebSocketURL string `yaml:"websocket_url"`
	// session.bosh_url, LIVECHAT_AUTH_SESSION_BOSH_URL: the BOSH URL,
	// handed out likewise (often proxy.bosh_path); empty: none.
	BOSHURL string `yaml:"bosh_url"`
	// session.migration_url, LIVECHAT_AUTH_SESSION_MIGRATION_URL: where an
	// account without livechat_id is sent to get one.
	MigrationURL string `yaml:"migration_url"`
	// session.avatar_url, LIVECHAT_AUTH_SESSION_AVATAR_URL: avatar URL
	// template; {login} is replaced by the URL-escaped login.
	AvatarURL string `yaml:"avatar_url"`
	// session.vcard_api_url, LIVECHAT_AUTH_SESSION_VCARD_API_URL:
	// ejabberd's mod_http_api (e.g. http://127.0.0.1:5281/api); when set,
	// each granted session sets the user's vCard FN and NICKNAME to the
	// wiki display name (set_vcard, mod_admin_extra) when it changed.
	VCardAPIURL string `yaml:"vcard_api_url"`
}

// Migration is the migration API the wiki's migration page calls
// (POST /v1/migration/claim, suggest, complete), signed with session.key.
// It signs in to the chat server at rooms.server (rooms.tls) as the old
// accounts users name.
type Migration struct {
	// migration.enabled, LIVECHAT_AUTH_MIGRATION_ENABLED: serve answers
	// the migration API. Default false.
	Enabled bool `yaml:"enabled"`
	// migration.old_account, LIVECHAT_AUTH_MIGRATION_OLD_ACCOUNT: what
	// becomes of a proven old chat account once the wiki stores its name:
	// remove (in-band unregistration, XEP-0077: the server deletes its
	// roster, offline messages and vCard with it) or retire (its password
	// is replaced by a random one; roster and archive stay; Prosody only:
	// ejabberd 23.01 in [external, internal] mode does not change it,
	// which complete detects and reports as chat-refused). Default remove.
	OldAccount string `yaml:"old_account"`
	// migration.ejabberd_api_url, LIVECHAT_AUTH_MIGRATION_EJABBERD_API_URL:
	// ejabberd's mod_http_api (e.g. http://127.0.0.1:5281/api), whose
	// check_account tells whether a suggested name is a chat account.
	// Empty: the room-sync account asks as a server administrator
	// (XEP-0133 user-stats), which Prosody answers and ejabberd cannot.
	EjabberdAPIURL string `yaml:"ejabberd_api_url"`
}

// Proxy forwards the chat server's WebSocket and BOSH endpoints under
// the serve listener, so the widget can live in wiki pages on one origin.
type Proxy struct {
	// proxy.websocket_path, LIVECHAT_AUTH_PROXY_WEBSOCKET_PATH: the path
	// under serve.listen that forwards to proxy.websocket_upstream.
	// Default /xmpp-websocket.
	WebSocketPath string `yaml:"websocket_path"`
	// proxy.websocket_upstream, LIVECHAT_AUTH_PROXY_WEBSOCKET_UPSTREAM: the
	// chat server's WebSocket URL (ws:// or wss://); empty: not proxied.
	WebSocketUpstream string `yaml:"websocket_upstream"`
	// proxy.bosh_path, LIVECHAT_AUTH_PROXY_BOSH_PATH: the path under
	// serve.listen that forwards to proxy.bosh_upstream. Default /http-bind.
	BOSHPath string `yaml:"bosh_path"`
	// proxy.bosh_upstream, LIVECHAT_AUTH_PROXY_BOSH_UPSTREAM: the chat
	// server's BOSH URL; empty: not proxied.
	BOSHUpstream string `yaml:"bosh_upstream"`
	// proxy.host_header, LIVECHAT_AUTH_PROXY_HOST_HEADER: Host sent
	// upstream (Prosody picks its virtual host by it). Default: the
	// upstream's host.
	HostHeader string `yaml:"host_header"`
}

// HTTPAuth is the HTTP authentication contract (check_password,
// user_exists) for Prosody's mod_auth_livechat, MongooseIM and
// prosody-modules' mod_auth_http. It is on when a secret is set.
type HTTPAuth struct {
	// httpauth.path, LIVECHAT_AUTH_HTTPAUTH_PATH: path prefix of the
	// methods. Default /auth.
	Path string `yaml:"path"`
	// httpauth.secret, LIVECHAT_AUTH_HTTPAUTH_SECRET: shared secret (at
	// least 16 bytes) callers present as HTTP Basic password or bearer token.
	Secret Secret `yaml:"secret"`
	// httpauth.secret_file, LIVECHAT_AUTH_HTTPAUTH_SECRET_FILE: read it from a file.
	SecretFile string `yaml:"secret_file"`
	// httpauth.allow_no_secret, LIVECHAT_AUTH_HTTPAUTH_ALLOW_NO_SECRET:
	// serve the contract without a secret; only with a loopback
	// serve.listen. Default false.
	AllowNoSecret bool `yaml:"allow_no_secret"`
	// httpauth.timeout, LIVECHAT_AUTH_HTTPAUTH_TIMEOUT: deadline of one
	// decision, under the callers' own (MongooseIM waits 2s). Default 1500ms.
	Timeout time.Duration `yaml:"timeout"`
}

// Enabled reports whether the contract is served.
func (h HTTPAuth) Enabled() bool { return h.Secret != "" || h.AllowNoSecret }

// Rooms keeps chat-room affiliations in step with wiki groups
// ("livechat-auth sync-rooms", and periodically inside serve). The rules
// and room settings are read from the file only; the scalar keys also
// from the environment.
type Rooms struct {
	// rooms.jid, LIVECHAT_AUTH_ROOMS_JID: the sync account; it needs MUC
	// admin rights on the service (ejabberd: mod_muc access_admin).
	JID string `yaml:"jid"`
	// rooms.password, LIVECHAT_AUTH_ROOMS_PASSWORD: its password. With
	// neither this nor rooms.password_file, a key that mints tokens
	// (token.signing_key_file or token.secret) signs it in with a fresh
	// one-time token each time.
	Password Secret `yaml:"password"`
	// rooms.password_file, LIVECHAT_AUTH_ROOMS_PASSWORD_FILE: read it from
	// a file.
	PasswordFile string `yaml:"password_file"`
	// rooms.server, LIVECHAT_AUTH_ROOMS_SERVER: host:port of the chat
	// server's client listener. Default: the JID's domain, port 5222.
	Server string `yaml:"server"`
	// rooms.tls, LIVECHAT_AUTH_ROOMS_TLS: starttls or none (a loopback
	// server only). Default starttls.
	TLS string `yaml:"tls"`
	// rooms.service, LIVECHAT_AUTH_ROOMS_SERVICE: the MUC service of rooms
	// named without a domain, e.g. conference.chat.example.org.
	Service string `yaml:"service"`
	// rooms.interval, LIVECHAT_AUTH_ROOMS_INTERVAL: how often serve syncs
	// (with ±10% jitter); 0: never, only "livechat-auth sync-rooms".
	// Default 0.
	Interval time.Duration `yaml:"interval"`
	// rooms.room_timeout, LIVECHAT_AUTH_ROOMS_ROOM_TIMEOUT: bound of one
	// room's work. Default 30s.
	RoomTimeout time.Duration `yaml:"room_timeout"`
	// rooms.defaults: settings of rooms without their own entry.
	Defaults RoomSettings `yaml:"defaults"`
	// rooms.settings: per room (name or JID) settings to enforce.
	Settings map[string]RoomSettings `yaml:"settings"`
	// rooms.rules: which wiki group gets which affiliation in which rooms.
	Rules []RoomRule `yaml:"rules"`
}

// RoomSettings are the settings enforced on a room; unset ones are left
// as the server has them.
type RoomSettings struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Persistent  *bool  `yaml:"persistent"`
	MembersOnly *bool  `yaml:"members_only"`
	// Moderated: ejabberd 23.01 keeps a revoked member's stored role in
	// moderated rooms, letting them back into members-only rooms: keep it
	// false (the default) for synced rooms.
	Moderated *bool `yaml:"moderated"`
}

// RoomRule maps a wiki group to rooms and an affiliation.
type RoomRule struct {
	Group       string   `yaml:"group"`
	Rooms       []string `yaml:"rooms"`
	Affiliation string   `yaml:"affiliation"` // owner, admin, member or outcast
}
