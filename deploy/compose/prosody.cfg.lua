-- Prosody in the compose demo: every sign-in asks livechat-auth over HTTP.
plugin_paths = { "/usr/local/lib/prosody/modules" }
modules_enabled = { "disco", "roster", "saslauth", "ping" }
modules_disabled = { "s2s" }
c2s_require_encryption = false       -- demo only: use TLS in production
allow_unencrypted_plain_auth = true  -- demo only
authentication = "livechat"
livechat_auth_url = "http://livechat-auth:8484/auth"
livechat_auth_secret = "compose-demo-httpauth-secret"
log = { info = "*console" }
-- No pidfile: prosody -F runs in the foreground, and needs no folder for one.
VirtualHost "chat.example.test"
