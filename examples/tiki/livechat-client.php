<?php
// livechat-client.php: the wiki's side of livechat-auth's signed
// server-to-server calls (the session API and the migration API), shared
// by livechat-credentials.php and tiki-livechat_migration.php.
//
// Set, in PHP's environment (the wiki's php-fpm pool: env[...] lines, see
// docs/tiki.md), or in the define() lines below:
//   LIVECHAT_AUTH_URL          where "livechat-auth serve" listens, e.g. http://127.0.0.1:8484
//   LIVECHAT_AUTH_SESSION_KEY  the same value as livechat-auth's session.key

if (!defined('LIVECHAT_AUTH_URL')) {
    define('LIVECHAT_AUTH_URL', getenv('LIVECHAT_AUTH_URL') ?: 'http://127.0.0.1:8484');
    define('LIVECHAT_AUTH_SESSION_KEY', getenv('LIVECHAT_AUTH_SESSION_KEY') ?: '');
}

// livechat_configured reports whether the session key is set.
function livechat_configured(): bool {
    return strlen(LIVECHAT_AUTH_SESSION_KEY) >= 32;
}

// livechat_call POSTs $fields as a signed JSON body to $path and returns
// [HTTP status (0: no answer), decoded answer or null]. Each call carries
// a fresh nonce: livechat-auth takes a signed request once.
function livechat_call(string $path, array $fields): array {
    $fields['nonce'] = bin2hex(random_bytes(12));
    $body = json_encode($fields);
    if ($body === false) { // not UTF-8: nothing is sent
        return [0, ['error' => 'bad-input']];
    }
    $timestamp = (string) time();
    $signature = 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, LIVECHAT_AUTH_SESSION_KEY);
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "Content-Type: application/json\r\n"
            . "X-Livechat-Timestamp: $timestamp\r\n"
            . "X-Livechat-Signature: $signature\r\n",
        'content' => $body,
        'timeout' => 15, // a migration call signs in to the chat server
        'ignore_errors' => true, // read the JSON error bodies too
    ]]);
    $raw = @file_get_contents(rtrim(LIVECHAT_AUTH_URL, '/') . $path, false, $context);
    $status = 0;
    if (isset($http_response_header[0]) && preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0], $m)) {
        $status = (int) $m[1];
    }
    $answer = is_string($raw) ? json_decode($raw, true) : null;
    return [$status, is_array($answer) ? $answer : null];
}
