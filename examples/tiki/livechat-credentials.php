<?php
// livechat-credentials.php: the credentials endpoint of the wiki's chat
// widget. Converse.js fetches it (credentials_url) and gets
// {"jid": ..., "password": ...}, where the password is a short-lived token
// that livechat-auth minted for the user logged in to the wiki. The browser
// never sees a chat password, and fetches again on every reconnect. With
// ?profile it answers only {"jid", "nickname", "locale"}: the wiki's display
// name, which the widget sets as Converse's nickname (and so the default
// room nickname).
//
// Install: copy this file and livechat-client.php into the wiki's root
// folder and set LIVECHAT_AUTH_URL and LIVECHAT_AUTH_SESSION_KEY (see
// livechat-client.php).
//
// Outside a wiki, it runs only as a demo: under PHP's built-in server
// (php -S) with LIVECHAT_DEMO_USER naming the user everyone is.

// Tiki's setup defines $user (the logged-in login, or empty) at file scope.
if (is_file(__DIR__ . '/tiki-setup.php')) {
    require_once __DIR__ . '/tiki-setup.php';
    $livechat_login = !empty($user) ? $user : null;
} elseif (PHP_SAPI === 'cli-server' && getenv('LIVECHAT_DEMO_USER')) {
    $livechat_login = getenv('LIVECHAT_DEMO_USER');
} else {
    http_response_code(500);
    header('Content-Type: application/json');
    echo json_encode(['error' => 'not-in-a-wiki']);
    exit;
}

require_once __DIR__ . '/livechat-client.php';

header('Content-Type: application/json');
header('Cache-Control: no-store');

function livechat_reply(int $status, array $body): void {
    http_response_code($status);
    echo json_encode($body);
    exit;
}

$login = $livechat_login;
if ($login === null) {
    livechat_reply(401, ['error' => 'not-logged-in']);
}
if (!livechat_configured()) {
    error_log('livechat-credentials: LIVECHAT_AUTH_SESSION_KEY is not set');
    livechat_reply(500, ['error' => 'not-configured']);
}

// The signed server-to-server request: HMAC-SHA256 over timestamp "." body.
[$status, $answer] = livechat_call('/v1/sessions', [
    'login' => $login,
    'locale' => $GLOBALS['prefs']['language'] ?? 'en',
]);
if ($status !== 200 || !is_array($answer) || !isset($answer['jid'], $answer['token'])) {
    $error = is_array($answer) && isset($answer['error']) ? $answer['error'] : 'chat-unavailable';
    error_log("livechat-credentials: no chat session for $login: $error");
    $reply = ['error' => $error];
    if (isset($answer['migration_url'])) {
        $reply['migration_url'] = $answer['migration_url']; // the page can send the user there
    }
    // The account's own answers pass through (404 no such account, 403 may
    // not chat, 409 unmigrated); a fault of livechat-auth is 502, or 503
    // when it says the wiki database or its shared state is down.
    $passed = [403, 404, 409, 503];
    livechat_reply(in_array($status, $passed, true) ? $status : 502, $reply);
}
$profile = [
    'jid' => $answer['jid'],
    'nickname' => $answer['profile']['display_name'] ?? '', // the wiki's display name (realName, else the login)
    'locale' => $answer['profile']['locale'] ?? '',
];
if (isset($_GET['profile'])) {
    livechat_reply(200, $profile); // what the widget shows, without a password
}
livechat_reply(200, $profile + ['password' => $answer['token']]);
