<?php
// livechat-credentials.php: the credentials endpoint of the wiki's chat
// widget. Converse.js fetches it (credentials_url) and gets
// {"jid": ..., "password": ...}, where the password is a short-lived token
// that livechat-auth minted for the user logged in to the wiki. The browser
// never sees a chat password, and fetches again on every reconnect.
//
// Install: copy this file into the wiki's root folder and set, in the web
// server's environment (or in the two define() lines below):
//   LIVECHAT_AUTH_URL          where "livechat-auth serve" listens, e.g. http://127.0.0.1:8484
//   LIVECHAT_AUTH_SESSION_KEY  the same value as livechat-auth's session.key
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

define('LIVECHAT_AUTH_URL', getenv('LIVECHAT_AUTH_URL') ?: 'http://127.0.0.1:8484');
define('LIVECHAT_AUTH_SESSION_KEY', getenv('LIVECHAT_AUTH_SESSION_KEY') ?: '');

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
if (strlen(LIVECHAT_AUTH_SESSION_KEY) < 32) {
    error_log('livechat-credentials: LIVECHAT_AUTH_SESSION_KEY is not set');
    livechat_reply(500, ['error' => 'not-configured']);
}

// The signed server-to-server request: HMAC-SHA256 over timestamp "." body.
$body = json_encode([
    'login' => $login,
    'locale' => $GLOBALS['prefs']['language'] ?? 'en',
    'nonce' => bin2hex(random_bytes(12)), // a signed request is good once
]);
$timestamp = (string) time();
$signature = 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, LIVECHAT_AUTH_SESSION_KEY);
$context = stream_context_create(['http' => [
    'method' => 'POST',
    'header' => "Content-Type: application/json\r\n"
        . "X-Livechat-Timestamp: $timestamp\r\n"
        . "X-Livechat-Signature: $signature\r\n",
    'content' => $body,
    'timeout' => 5,
    'ignore_errors' => true, // read the JSON error bodies too
]]);
$raw = @file_get_contents(rtrim(LIVECHAT_AUTH_URL, '/') . '/v1/sessions', false, $context);
$status = 0;
if (isset($http_response_header[0]) && preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0], $m)) {
    $status = (int) $m[1];
}
$answer = is_string($raw) ? json_decode($raw, true) : null;
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
livechat_reply(200, ['jid' => $answer['jid'], 'password' => $answer['token']]);
