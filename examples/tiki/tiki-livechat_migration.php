<?php
// tiki-livechat_migration.php: the wiki page that gives an account its
// chat name (users_users.livechat_id), as the plan's migration describes.
// livechat-auth answers which name (its migration API); this page, as the
// wiki, stores it. Three cases:
//   - the user has a wiki account and an old chat account: they give the
//     chat name and password, livechat-auth proves them to the chat server,
//     the page stores the name, and livechat-auth removes the old account;
//     the user then signs in to chat as the same JID with the wiki password;
//   - the user has a wiki account only: livechat-auth suggests a free name,
//     the page stores it;
//   - the user has a chat account only: they register in the wiki first
//     (tiki-register.php), log in and come back.
// Every form is a POST carrying the session's form token; a name is never
// taken from the form but from livechat-auth's answer to that POST.
//
// Install: copy it with livechat-client.php into the wiki's root folder
// and set LIVECHAT_AUTH_URL and LIVECHAT_AUTH_SESSION_KEY (see
// livechat-client.php); serve needs migration.enabled. Point
// livechat-auth's session.migration_url at it.
//
// Outside a wiki it runs only as a demo, under PHP's built-in server
// (php -S): LIVECHAT_DEMO_USER is the logged-in login ("" or unset: nobody),
// LIVECHAT_DEMO_DSN, LIVECHAT_DEMO_DB_USER and LIVECHAT_DEMO_DB_PASSWORD
// the PDO connection the wiki would write with.

if (is_file(__DIR__ . '/tiki-setup.php')) {
    require_once __DIR__ . '/tiki-setup.php'; // starts the session, sets $user
    $livechat_login = !empty($user) ? $user : null;
    $livechat_db = null; // Tiki's own connection, TikiDb::get()
} elseif (PHP_SAPI === 'cli-server' && getenv('LIVECHAT_DEMO_DSN')) {
    $livechat_login = getenv('LIVECHAT_DEMO_USER') ?: null;
    $livechat_db = new PDO(getenv('LIVECHAT_DEMO_DSN'), getenv('LIVECHAT_DEMO_DB_USER') ?: null,
        getenv('LIVECHAT_DEMO_DB_PASSWORD') ?: null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    session_start(['cookie_httponly' => true, 'cookie_samesite' => 'Strict']);
} else {
    http_response_code(500);
    exit('not in a wiki');
}
require_once __DIR__ . '/livechat-client.php';

header('Content-Type: text/html; charset=utf-8');
header('Cache-Control: no-store');
header("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
header('X-Frame-Options: DENY');
header('Referrer-Policy: same-origin');

function h(string $s): string {
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

// The account's stored chat name, or null when it has none.
function livechat_stored_id(string $login): ?string {
    global $livechat_db;
    if ($livechat_db === null) {
        $id = TikiDb::get()->getOne('SELECT livechat_id FROM users_users WHERE login = ?', [$login]);
        return ($id === false || $id === null) ? null : (string) $id;
    }
    $q = $livechat_db->prepare('SELECT livechat_id FROM users_users WHERE BINARY login = ?');
    $q->execute([$login]);
    $id = $q->fetchColumn();
    return ($id === false || $id === null) ? null : (string) $id;
}

// Stores $id for $login if the account has none yet. Returns '' when
// stored, else why not: 'taken' (another account holds the name under the
// database's collation) or 'migrated' (the account got a name meanwhile).
function livechat_store_id(string $login, string $id): string {
    global $livechat_db;
    try {
        if ($livechat_db === null) {
            $result = TikiDb::get()->query('UPDATE users_users SET livechat_id = ? WHERE login = ? AND livechat_id IS NULL', [$id, $login]);
            $changed = $result ? $result->numRows() : 0;
        } else {
            $q = $livechat_db->prepare('UPDATE users_users SET livechat_id = ? WHERE BINARY login = ? AND livechat_id IS NULL');
            $q->execute([$id, $login]);
            $changed = $q->rowCount();
        }
    } catch (Exception $e) {
        if (strpos($e->getMessage(), '1062') !== false || stripos($e->getMessage(), 'Duplicate') !== false) {
            return 'taken';
        }
        throw $e;
    }
    return $changed === 1 ? '' : 'migrated';
}

// What the page says for livechat-auth's error codes.
function livechat_message(?array $answer, int $status): string {
    $code = $answer['error'] ?? ($status === 0 ? 'unreachable' : 'error');
    $messages = [
        'bad-chat-password' => 'The chat server did not accept that chat name and password. Check both and try again.',
        'chat-name-taken' => 'Another wiki account already uses that chat name. If it is yours, log in to that wiki account instead.',
        'bad-chat-name' => 'That is not a chat account name. Give the part before the @.',
        'rate-limited' => 'Too many wrong chat names or passwords. Wait a few minutes and try again.',
        'already-migrated' => 'Your wiki account already has a chat name.',
        'unknown-user' => 'Your wiki account was not found.',
        'suspended' => 'Your wiki account is suspended or awaiting approval.',
        'unvalidated' => 'Validate your e-mail address first.',
        'must-change-password' => 'Change your wiki password first, then come back.',
        'chat-unavailable' => 'The chat server did not answer. Try again in a few minutes.',
        'chat-refused' => 'The chat server refused to close the old account. Tell the site administrators.',
        'wiki-password' => 'That is your wiki password. Give the old chat account\'s own password (if it had the same one, there is nothing to close).',
        'wiki-token' => 'That is a sign-in token, not a password. Give the old chat account\'s own password.',
        'bad-input' => 'The password holds characters that cannot be sent.',
        'db-unavailable' => 'The wiki database did not answer. Try again in a few minutes.',
        'unreachable' => 'The chat service did not answer. Try again in a few minutes.',
    ];
    return $messages[$code] ?? ('The chat name could not be set (' . $code . ').');
}

if (empty($_SESSION['livechat_migration_token'])) {
    $_SESSION['livechat_migration_token'] = bin2hex(random_bytes(16));
}
$token = $_SESSION['livechat_migration_token'];
$notice = '';
$error = '';

if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $site = $_SERVER['HTTP_SEC_FETCH_SITE'] ?? '';
    $origin = $_SERVER['HTTP_ORIGIN'] ?? '';
    $self = (isset($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off' ? 'https://' : 'http://') . ($_SERVER['HTTP_HOST'] ?? '');
    if (!hash_equals($token, (string) ($_POST['token'] ?? ''))
        || ($site !== '' && $site !== 'same-origin')
        || ($origin !== '' && $origin !== $self)) {
        http_response_code(403);
        $error = 'This form was not sent from this page. Reload the page and try again.';
    } elseif ($livechat_login === null) {
        http_response_code(401);
        $error = 'Log in to the wiki first.';
    } elseif (!livechat_configured()) {
        http_response_code(500);
        error_log('tiki-livechat_migration: LIVECHAT_AUTH_SESSION_KEY is not set');
        $error = 'The chat service is not configured.';
    } else {
        $action = (string) ($_POST['action'] ?? '');
        $chat_name = trim((string) ($_POST['chat_name'] ?? ''));
        $chat_password = (string) ($_POST['chat_password'] ?? '');
        if ($action === 'claim' || $action === 'finish') {
            if ($action === 'claim') {
                [$status, $answer] = livechat_call('/v1/migration/claim', ['action' => 'claim', 'login' => $livechat_login,
                    'chat_name' => $chat_name, 'chat_password' => $chat_password]);
                $id = ($status === 200 && isset($answer['livechat_id'])) ? (string) $answer['livechat_id'] : null;
                $why = $id === null ? livechat_message($answer, $status) : livechat_store_id($livechat_login, $id);
            } else { // removing the old account again after a failure
                $id = livechat_stored_id($livechat_login);
                $why = $id === null ? 'Your wiki account has no chat name yet.' : '';
            }
            if ($why === 'taken') {
                $error = 'Another wiki account took that chat name a moment ago.';
            } elseif ($why === 'migrated') {
                $error = 'Your wiki account already has a chat name.';
            } elseif ($why !== '') {
                $error = $why;
            } else {
                [$status, $answer] = livechat_call('/v1/migration/complete', ['action' => 'complete', 'login' => $livechat_login,
                    'chat_name' => $id, 'chat_password' => $chat_password]);
                if ($status === 200 && ($answer['old_account'] ?? '') === 'gone') {
                    $error = 'Your chat name is ' . $id . '. That password does not sign in to an old chat account of that name: '
                        . 'it is closed already, or that is not its old password. Sign in to chat with your wiki password.';
                } elseif ($status === 200) {
                    $notice = 'Your chat name is now ' . $id . '. Your old chat account is closed: sign in to chat as '
                        . ($answer['jid'] ?? $id) . ' with your wiki password.';
                } else {
                    error_log('tiki-livechat_migration: old chat account ' . $id . ' not removed: ' . ($answer['error'] ?? $status));
                    $error = 'Your chat name is now ' . $id . ', but the old chat account could not be closed yet: '
                        . livechat_message($answer, $status) . ' Give its password again below to finish.';
                }
            }
        } elseif ($action === 'suggest') {
            [$status, $answer] = livechat_call('/v1/migration/suggest', ['action' => 'suggest', 'login' => $livechat_login]);
            if ($status !== 200 || !isset($answer['livechat_id'])) {
                $error = livechat_message($answer, $status);
            } else {
                $why = livechat_store_id($livechat_login, (string) $answer['livechat_id']);
                if ($why === '') {
                    $notice = 'Your chat name is now ' . $answer['livechat_id'] . ': sign in to chat as ' . $answer['jid'] . ' with your wiki password.';
                } else {
                    $error = $why === 'taken' ? 'That chat name was taken a moment ago. Try again.' : 'Your wiki account already has a chat name.';
                }
            }
        } else {
            http_response_code(400);
            $error = 'Unknown request.';
        }
    }
}

$stored = $livechat_login === null ? null : livechat_stored_id($livechat_login);
?><!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Live Chat account</title>
<style>
body { font-family: sans-serif; max-width: 44em; margin: 2em auto; padding: 0 1em; color: #222; }
.box { border: 1px solid #ccc; border-radius: 4px; padding: 1em 1.2em; margin: 1em 0; }
.notice { background: #eef8ee; border-color: #7b7; }
.error { background: #fbeeee; border-color: #c77; }
label { display: block; margin: .5em 0 .2em; }
input[type=text], input[type=password] { width: 20em; padding: .3em; }
button { margin-top: .8em; padding: .4em 1em; }
</style>
</head>
<body>
<h1>Live Chat account</h1>
<?php if ($notice !== ''): ?><p class="box notice" id="notice"><?= h($notice) ?></p><?php endif; ?>
<?php if ($error !== ''): ?><p class="box error" id="error" role="alert"><?= h($error) ?></p><?php endif; ?>

<?php if ($livechat_login === null): ?>
<div class="box" id="logged-out">
  <p>Live Chat now signs you in with your wiki account.</p>
  <p><strong>You have a wiki account:</strong> log in to the wiki, then come back to this page.</p>
  <p><strong>You have only a Live Chat account:</strong> <a href="tiki-register.php">register a wiki account</a>
    first, log in, then come back here: you can keep your chat name by giving your old chat password.</p>
</div>
<?php elseif ($stored !== null): ?>
<div class="box" id="migrated">
  <p>Your chat name is <strong id="livechat-id"><?= h($stored) ?></strong>. Sign in to Live Chat with it and your wiki password.</p>
  <form method="post" id="finish-form">
    <p>If you had an old Live Chat account of that name, with a password of its own, and it was not closed yet, give that old password to close it.</p>
    <input type="hidden" name="token" value="<?= h($token) ?>">
    <input type="hidden" name="action" value="finish">
    <label for="finish-password">Old chat password</label>
    <input type="password" id="finish-password" name="chat_password" autocomplete="off" required>
    <button type="submit">Close the old chat account</button>
  </form>
</div>
<?php else: ?>
<p>Live Chat now signs you in with your wiki account, <strong><?= h($livechat_login) ?></strong>. Choose one:</p>
<form method="post" class="box" id="claim-form">
  <h2>I also have a Live Chat account</h2>
  <p>Keep its chat name: give its name and password. The old chat account is closed afterwards (with its own
    contact list), and you sign in to chat under the same name with your wiki password.</p>
  <input type="hidden" name="token" value="<?= h($token) ?>">
  <input type="hidden" name="action" value="claim">
  <label for="chat-name">Chat name</label>
  <input type="text" id="chat-name" name="chat_name" autocomplete="username" required>
  <label for="chat-password">Chat password</label>
  <input type="password" id="chat-password" name="chat_password" autocomplete="current-password" required>
  <button type="submit">Use this chat account</button>
</form>
<form method="post" class="box" id="suggest-form">
  <h2>I have no Live Chat account</h2>
  <p>Get a new chat name, made from your wiki login.</p>
  <input type="hidden" name="token" value="<?= h($token) ?>">
  <input type="hidden" name="action" value="suggest">
  <button type="submit">Give me a chat name</button>
</form>
<?php endif; ?>
</body>
</html>
