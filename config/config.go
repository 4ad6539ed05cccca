// Package config loads livechat-auth's settings: one YAML file, then an
// environment override LIVECHAT_AUTH_<KEY> for every key, then validation
// that reports every problem at once, each prefixed with its key.
//
// The naming rule: the file key wiki.query_timeout is the environment
// variable LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT; lists (domains) are
// comma-separated in the environment. Unknown file keys are errors.
// Secrets print as [redacted] and may be read from a file (wiki.dsn_file).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a string that never prints.
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return "[redacted]" }

// Format hides the value from every fmt verb, including the wrong ones,
// which would otherwise print the raw string.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") } // fmt ignores write errors too

// MarshalJSON hides the value from JSON logs.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Config is every setting. Each field's doc comment opens with its file
// key and environment variable ("wiki.dsn, LIVECHAT_AUTH_WIKI_DSN: "),
// says what it does and states any default that is not empty, zero or
// false ("Default 2s."). docs/configuration.md is generated from these
// comments, EnvNames and Default (go generate ./config); TestReference
// fails when the page is stale or a comment disagrees with the code.
type Config struct {
	// domains, LIVECHAT_AUTH_DOMAINS: XMPP domains users sign in to. Required.
	Domains []string `yaml:"domains"`
	// strict, LIVECHAT_AUTH_STRICT: refuse to start when a secret or key
	// file is readable by every user (otherwise a warning). Default false.
	Strict bool `yaml:"strict"`
	// Path is the file the settings were read from ("": none); Load sets it.
	Path    string  `yaml:"-"`
	Wiki    Wiki    `yaml:"wiki"`
	Auth    Auth    `yaml:"auth"`
	Extauth Extauth `yaml:"extauth"`
	Serve   Serve   `yaml:"serve"`
	Token   Token   `yaml:"token"`
	Session Session `yaml:"session"`
	// migration: the migration page's API.
	Migration Migration `yaml:"migration"`
	Proxy     Proxy     `yaml:"proxy"`
	HTTPAuth  HTTPAuth  `yaml:"httpauth"`
	Rooms     Rooms     `yaml:"rooms"`
	State     State     `yaml:"state"`
	Status    Status    `yaml:"status"`
	// end_sessions: ending the chat sessions of refused accounts.
	EndSessions EndSessions `yaml:"end_sessions"`
	Log         Log         `yaml:"log"`
}

// Wiki is the wiki database.
type Wiki struct {
	// wiki.dsn, LIVECHAT_AUTH_WIKI_DSN: go-sql-driver DSN of the Tiki
	// database, e.g. "reader:pw@tcp(127.0.0.1:3306)/tiki". A SELECT-only
	// user is enough. Required unless wiki.dsn_file is set.
	DSN Secret `yaml:"dsn"`
	// wiki.dsn_file, LIVECHAT_AUTH_WIKI_DSN_FILE: a file holding the DSN
	// (trailing newline ignored), so it stays out of the config file.
	DSNFile string `yaml:"dsn_file"`
	// wiki.query_timeout, LIVECHAT_AUTH_WIKI_QUERY_TIMEOUT: deadline of
	// each query and of connecting. Default 2s.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// wiki.max_open_conns, LIVECHAT_AUTH_WIKI_MAX_OPEN_CONNS: connection
	// pool bound per process. Default 2 (extauth serves one request at a
	// time).
	MaxOpenConns int `yaml:"max_open_conns"`
	// wiki.prefs_refresh, LIVECHAT_AUTH_WIKI_PREFS_REFRESH: how long site
	// preferences are cached. Default 60s.
	PrefsRefresh time.Duration `yaml:"prefs_refresh"`
	// wiki.account_cache, LIVECHAT_AUTH_WIKI_ACCOUNT_CACHE: how long an
	// account row read for a sign-in or an isuser check is reused, so that
	// a burst of requests for one account asks the database once; a change
	// in the wiki (password, suspension, deletion, livechat_id) is seen at
	// most this late. Default 2s; 0: every request asks; at most 1m.
	AccountCache time.Duration `yaml:"account_cache"`
}

// Auth tunes sign-in decisions.
type Auth struct {
	// auth.cache_ttl, LIVECHAT_AUTH_AUTH_CACHE_TTL: how long a verified
	// password skips the slow hash while the stored hash is unchanged;
	// 0 turns the cache off. Default 5m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// auth.cache_size, LIVECHAT_AUTH_AUTH_CACHE_SIZE: entries kept at
	// most. Default 10000.
	CacheSize int `yaml:"cache_size"`
	// auth.max_failures, LIVECHAT_AUTH_AUTH_MAX_FAILURES: failed sign-ins
	// an account may have within auth.failure_window before further tries
	// are refused as rate-limited; 0 turns the limit off. Default 5.
	MaxFailures int `yaml:"max_failures"`
	// auth.failure_window, LIVECHAT_AUTH_AUTH_FAILURE_WINDOW: how far back
	// auth.max_failures counts an account's failed sign-ins. Default 1m.
	FailureWindow time.Duration `yaml:"failure_window"`
	// auth.outage_grace, LIVECHAT_AUTH_AUTH_OUTAGE_GRACE: while the wiki
	// database does not answer, a password this process verified within
	// this long, for the same account and the same stored hash, still
	// signs in, under the account state last read (a suspension read
	// before the outage still refuses). A password not verified before is
	// refused, as is every token. Logged at WARN, reason outage-grace.
	// Default 0: off (every sign-in is refused during an outage). At most 24h.
	OutageGrace time.Duration `yaml:"outage_grace"`
}

// Extauth tunes the ejabberd extauth program.
type Extauth struct {
	// extauth.request_timeout, LIVECHAT_AUTH_EXTAUTH_REQUEST_TIMEOUT:
	// budget of one request, far under ejabberd's 30 s. Default 5s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// extauth.daemon_socket, LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET: where
	// the extauth processes of ejabberd's pool relay their requests, so
	// that they share one cache, one failure limit and one record of used
	// tokens. Empty (the default): an automatic daemon each extauth
	// process starts when none answers, on a socket in the user's private
	// folder. An absolute path: the Unix socket where "serve" answers.
	// "off": each process decides alone (then set ejabberd's
	// extauth_pool_size: 1). While the daemon cannot be reached, extauth
	// decides passwords locally and refuses tokens.
	DaemonSocket string `yaml:"daemon_socket"`
	// extauth.listen, LIVECHAT_AUTH_EXTAUTH_LISTEN: the automatic
	// daemon's own HTTP listener, e.g. 127.0.0.1:8486: its Prometheus
	// metrics at /metrics and its status page at /, with the decisions
	// of every extauth process that relays to it (with daemon_socket
	// off: those of the one extauth process, ejabberd's pool being of
	// one). Empty (the default): none. An address other than loopback needs status.secret, which
	// then guards both. serve does not use it (its metrics are at
	// serve.listen, its page at status.listen).
	Listen string `yaml:"listen"`
}

// EndSessions is serve's watch over the chat sessions open: when a wiki
// account becomes one the rules refuse (suspended, unvalidated, deleted,
// livechat_id changed or cleared, must change its password) or its
// password changes while it is online, its sessions are ended. The
// room-sync account (rooms.jid and its credential) does it, and must be a
// server administrator (ejabberd: mod_adhoc, mod_configure and the
// configure access; Prosody: admins and mod_admin_adhoc).
type EndSessions struct {
	// end_sessions.enabled, LIVECHAT_AUTH_END_SESSIONS_ENABLED: serve
	// ends the sessions of accounts the wiki now refuses; needs rooms.jid
	// and its credential. Default false.
	Enabled bool `yaml:"enabled"`
	// end_sessions.bound, LIVECHAT_AUTH_END_SESSIONS_BOUND: a refused
	// account's sessions end at most this long after the wiki changed
	// (the online users are checked every half of it). Default 1m; 2s to 1h.
	Bound time.Duration `yaml:"bound"`
}

// DaemonOff is the extauth.daemon_socket value for "no daemon".
const DaemonOff = "off"

// Log is where and how much to log. Logs never go to stdout.
type Log struct {
	// log.level, LIVECHAT_AUTH_LOG_LEVEL: trace, debug, info, warn, error
	// or off. Default info.
	Level string `yaml:"level"`
	// log.format, LIVECHAT_AUTH_LOG_FORMAT: text or json. Default text.
	Format string `yaml:"format"`
	// log.file, LIVECHAT_AUTH_LOG_FILE: append logs to this file instead
	// of stderr. Default: stderr.
	File string `yaml:"file"`
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		Wiki:    Wiki{QueryTimeout: 2 * time.Second, MaxOpenConns: 2, PrefsRefresh: time.Minute, AccountCache: 2 * time.Second},
		Auth:    Auth{CacheTTL: 5 * time.Minute, CacheSize: 10000, MaxFailures: 5, FailureWindow: time.Minute},
		Extauth: Extauth{RequestTimeout: 5 * time.Second},
		Serve:   Serve{Listen: "127.0.0.1:8484", RequestTimeout: 5 * time.Second},
		Token: Token{JWKSRefresh: 15 * time.Minute, Issuer: "livechat-auth", Audience: "xmpp",
			Lifetime: 5 * time.Minute, SubjectClaim: "sub", Subject: "livechat_id", ReplayProtection: true},
		Session:     Session{MaxSkew: 5 * time.Minute},
		Migration:   Migration{OldAccount: "remove"},
		Proxy:       Proxy{WebSocketPath: "/xmpp-websocket", BOSHPath: "/http-bind"},
		HTTPAuth:    HTTPAuth{Path: "/auth", Timeout: 1500 * time.Millisecond},
		Rooms:       Rooms{TLS: "starttls", RoomTimeout: 30 * time.Second},
		State:       State{KeyPrefix: "livechat-auth:", Timeout: 250 * time.Millisecond},
		EndSessions: EndSessions{Bound: time.Minute},
		Log:         Log{Level: "info", Format: "text"},
	}
}

// readSecretFile fills value from file when file is set; both set is an
// error, and so is an empty file (it would silently turn a feature off).
func readSecretFile(key, fileKey string, value *Secret, file string) error {
	if file == "" {
		return nil
	}
	if *value != "" {
		return fmt.Errorf("%s, %s: set only one (an environment variable for one replaces the other)", key, fileKey)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%s: %w", fileKey, err)
	}
	*value = Secret(strings.TrimRight(string(data), "\r\n"))
	if *value == "" {
		return fmt.Errorf("%s: %s is empty", fileKey, file)
	}
	return nil
}

// loadError is every problem Load found, on one line; errors.Is sees the
// file errors among them (a missing secret file is fs.ErrNotExist).
type loadError struct {
	text   string
	causes []error
}

func (e loadError) Error() string   { return e.text }
func (e loadError) Unwrap() []error { return e.causes }

// otherProblems returns the problems of a Validate error whose key is not
// already among reported.
func otherProblems(err error, reported []string) []string {
	seen := map[string]bool{}
	for _, r := range reported {
		key, _, _ := strings.Cut(r, ":")
		seen[key] = true
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		key, _, _ := strings.Cut(line, ":")
		if line != "" && !seen[key] {
			out = append(out, line)
		}
	}
	return out
}

// Load returns the defaults, overlaid with the YAML file at path (none
// when path is empty) and then with the environment read through getenv.
// It does not validate: call Validate.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	var problems []string // every problem at once, each naming its key
	var causes []error    // the errors among them, for errors.Is
	var reported []string // keys a problem above covers, beyond those it names
	where := ""           // no file: the problems name the variables' keys
	if path != "" {
		where = "config " + path + ": "
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			if line := tabLine(data); line > 0 && strings.Contains(err.Error(), fmt.Sprintf("line %d: found character that cannot start any token", line)) {
				// yaml's own words ("found character that cannot start
				// any token") do not say what the character is.
				return c, fmt.Errorf("config %s: line %d is indented with a tab: YAML indents with spaces only (%w)", path, line, err)
			}
			return c, fmt.Errorf("config %s: %w", path, err) // not YAML: nothing more can be said
		}
		docs := yaml.NewDecoder(bytes.NewReader(data))
		var doc yaml.Node
		for n := 0; docs.Decode(&doc) == nil; n++ {
			if n == 1 {
				problems = append(problems, "the file holds more than one YAML document (a line \"---\"): only one is read, so write one")
				break
			}
		}
		problems = append(problems, unknownKeys(&root)...)
		problems = append(problems, typeProblems(&root)...)
		if len(problems) == 0 {
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file sets nothing
				return c, fmt.Errorf("config %s: %w", path, err)
			}
		} else {
			// The values of the right shape are decoded, so that what
			// validation says of them comes too; the decoder's own errors
			// are the ones above, in Go's words.
			_ = yaml.Unmarshal(data, &c)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	for _, f := range []struct {
		key, fileKey string
		value        *Secret
		file         string
	}{
		{"wiki.dsn", "wiki.dsn_file", &c.Wiki.DSN, c.Wiki.DSNFile},
		{"token.secret", "token.secret_file", &c.Token.Secret, c.Token.SecretFile},
		{"session.key", "session.key_file", &c.Session.Key, c.Session.KeyFile},
		{"httpauth.secret", "httpauth.secret_file", &c.HTTPAuth.Secret, c.HTTPAuth.SecretFile},
		{"rooms.password", "rooms.password_file", &c.Rooms.Password, c.Rooms.PasswordFile},
		{"state.redis_url", "state.redis_url_file", &c.State.RedisURL, c.State.RedisURLFile},
		{"state.redis_password", "state.redis_password_file", &c.State.RedisPassword, c.State.RedisPasswordFile},
		{"status.secret", "status.secret_file", &c.Status.Secret, c.Status.SecretFile},
	} {
		if err := readSecretFile(f.key, f.fileKey, f.value, f.file); err != nil {
			problems = append(problems, err.Error())
			causes = append(causes, err)
			reported = append(reported, f.key+":") // so validation does not call it missing too
		}
	}
	if len(problems) == 0 {
		return c, nil
	}
	if err := c.Validate(); err != nil {
		problems = append(problems, otherProblems(err, append(reported, problems...))...)
	}
	return c, loadError{text: where + strings.Join(problems, "; "), causes: causes}
}

// tabLine returns the first line (from 1) of data whose indentation holds
// a tab, or 0.
func tabLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return i + 1
		}
	}
	return 0
}
