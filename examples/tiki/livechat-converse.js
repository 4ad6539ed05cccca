// livechat-converse.js: what the wiki's chat pages share (the widget,
// livechat-widget.html, and the support button, livechat-support.html).
// Converse.js signs the logged-in wiki user in with a short-lived token
// from livechat-credentials.php, over a WebSocket on the wiki's own origin,
// and shows the wiki's display name. Serve it from the wiki's root, beside
// livechat-credentials.php.

// wikiProfile fetches {jid, nickname, locale} for the user logged in to the
// wiki (no password); for a wiki account with no chat name yet,
// {error: 'unmigrated', migration_url}; {} when there is no user or the
// endpoint fails.
export async function wikiProfile() {
  return fetch('/livechat-credentials.php?profile', { cache: 'no-store' })
    .then((r) => (r.ok || r.status === 409 ? r.json() : {})).catch(() => ({}));
}

// converseSettings is the part of converse.initialize's settings that
// every page shares; each page adds its view_mode and what to open.
export function converseSettings(profile) {
  return {
    // The wiki's display name: Converse's nickname, and so the default
    // nickname in rooms.
    nickname: profile.nickname || undefined,
    authentication: 'login',
    auto_login: true,
    credentials_url: '/livechat-credentials.php',
    // The chat server's WebSocket, proxied on this origin.
    websocket_url: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/xmpp-websocket',
    discover_connection_methods: false,
    reuse_scram_keys: false, // the password is a one-time token
    // Kept for the tab only: on a shared computer, nothing of the chat
    // (contacts, messages) stays behind once the browser is closed, and a
    // logout clears it at once.
    persistent_store: 'sessionStorage',
    clear_cache_on_logout: true,
    assets_path: '/dist/',
    i18n: 'en',
    blacklisted_plugins: ['converse-omemo', 'converse-omemo-views'],
  };
}
