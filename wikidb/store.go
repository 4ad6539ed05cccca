package wikidb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/singleflight"
)

// User is one row of users_users, reduced to what sign-in needs. Empty
// strings stand for NULL in the text columns; LivechatID is nil when the
// account has not been migrated yet.
type User struct {
	ID              int64
	Login           string
	Email           string
	Hash            string  // users_users.hash; the only column that authenticates
	LivechatID      *string // nil: not migrated
	Waiting         string  // "u": e-mail not validated, "a": awaiting approval or suspended
	Valid           string  // non-empty: an unfinished legacy registration
	PassConfirm     int64   // Unix time of the last password confirmation; 0 if never
	TwoFactorSecret string
}

// Prefs holds the site preferences the account rules depend on, with
// TikiWiki's defaults for rows that are absent.
type Prefs struct {
	ChangePassword bool // change_password = 'y' (Tiki default: y)
	PassDueDays    int  // pass_due; negative: passwords never expire (Tiki default: -1)
	TwoFactorAuth  bool // twoFactorAuth = 'y' (Tiki default: n)
}

// DefaultPrefs are TikiWiki's defaults for the preferences in Prefs.
func DefaultPrefs() Prefs {
	return Prefs{ChangePassword: true, PassDueDays: -1, TwoFactorAuth: false}
}

// Config tunes a Store. Zero values take the defaults shown.
type Config struct {
	QueryTimeout time.Duration // deadline of each query (default 2s)
	MaxOpenConns int           // connection pool bound (default 4)
	PrefsRefresh time.Duration // how long cached preferences are used (default 60s)
	// AccountCache is how long an answer of UserByLivechatID (the account
	// row, or "no such account") is reused: a change in the wiki is seen
	// at most this late. 0: every call asks the database.
	AccountCache     time.Duration
	AccountCacheSize int // answers kept at most (default 10000)
}

// Store reads a Tiki database. It is safe for concurrent use; Close
// releases its connections.
type Store struct {
	db  countedDB
	cfg Config
	now func() time.Time

	accounts *accountCache // nil: off

	prefsFlight singleflight.Group
	mu          sync.Mutex
	prefs       Prefs
	prefsAt     time.Time
}

// Open prepares a Store for the go-sql-driver DSN. It does not connect:
// the first query does, so a database that is down at start-up delays
// nothing, and the pool reconnects by itself when it comes back. Open
// turns on interpolateParams (one round trip per query) and sets dial,
// read and write timeouts when the DSN has none.
func Open(dsn string, cfg Config) (*Store, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, errors.New("parse DSN: not a valid go-sql-driver DSN")
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 2 * time.Second
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 4
	}
	if cfg.PrefsRefresh <= 0 {
		cfg.PrefsRefresh = time.Minute
	}
	mc.InterpolateParams = true
	if mc.Timeout == 0 {
		mc.Timeout = cfg.QueryTimeout
	}
	if mc.ReadTimeout == 0 {
		mc.ReadTimeout = cfg.QueryTimeout
	}
	if mc.WriteTimeout == 0 {
		mc.WriteTimeout = cfg.QueryTimeout
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if cfg.AccountCacheSize <= 0 {
		cfg.AccountCacheSize = 10000
	}
	return &Store{db: countedDB{DB: db, n: new(atomic.Int64)}, cfg: cfg, now: time.Now, accounts: newAccountCache(cfg.AccountCache, cfg.AccountCacheSize)}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers and the accounts table is readable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	var one int
	err := s.db.QueryRowContext(ctx, queryPing).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ping database: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// UserByLivechatID returns the account whose livechat_id is id, or, when
// none is, an unmigrated account (LivechatID nil) whose login is id. found
// is false when neither exists; err reports only technical faults. The
// match follows the database collation: callers compare the returned
// livechat_id themselves when they need an exact match. With
// Config.AccountCache, an answer is reused for that long, and concurrent
// calls for one id share one query.
func (s *Store) UserByLivechatID(ctx context.Context, id string) (u User, found bool, err error) {
	read := func(ctx context.Context) (User, bool, error) { return s.queryUser(ctx, queryUserByLivechatID, id, id) }
	if s.accounts != nil {
		u, found, err = s.cachedUserByLivechatID(ctx, id, read)
	} else {
		u, found, err = read(ctx)
	}
	if err != nil {
		return User{}, false, fmt.Errorf("look up livechat_id: %w: %w", ErrUnavailable, err)
	}
	return u, found, nil
}

// countedDB is the database handle, counting the queries sent (each one
// round trip): Queries reports them, so that a caller can measure what
// its work costs the wiki database.
type countedDB struct {
	*sql.DB
	n *atomic.Int64
}

func (c countedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.DB.QueryContext(ctx, query, args...)
}

func (c countedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.DB.QueryRowContext(ctx, query, args...)
}

// Queries returns how many queries the Store has sent so far.
func (s *Store) Queries() int64 { return s.db.n.Load() }

// MaxBatch is how many names UsersByLivechatIDs asks in one query.
const MaxBatch = 500

// UsersByLivechatIDs is UserByLivechatID for many names, in one round
// trip per MaxBatch of them: users[i] and found[i] are what
// UserByLivechatID(ids[i]) returns, the comparison made the same way,
// under the column's collation. It reads fresh rows, past the account
// cache: its callers check accounts still signed in.
func (s *Store) UsersByLivechatIDs(ctx context.Context, ids []string) (users []User, found []bool, err error) {
	users, found = make([]User, len(ids)), make([]bool, len(ids))
	for start := 0; start < len(ids); start += MaxBatch {
		batch := ids[start:min(start+MaxBatch, len(ids))]
		if err := s.usersBatch(ctx, start, batch, users, found); err != nil {
			return nil, nil, fmt.Errorf("look up %d livechat_ids: %w: %w", len(batch), ErrUnavailable, err)
		}
	}
	return users, found, nil
}

// usersBatch reads one batch of names, whose first is ids[start], into
// users and found.
func (s *Store) usersBatch(ctx context.Context, start int, batch []string, users []User, found []bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	args := make([]any, 0, 2*len(batch))
	for i, id := range batch {
		args = append(args, start+i, id)
	}
	rows, err := s.db.QueryContext(ctx, queryUsersByLivechatIDs(len(batch)), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		u, err := scanUser(rows, &i)
		if err != nil {
			return err
		}
		if i < start || i >= start+len(batch) || found[i] {
			continue // not ours, or a later row of a name already read (the single query's LIMIT 1)
		}
		users[i], found[i] = u, true
	}
	return rows.Err()
}

// UserByLogin returns the account with this wiki login. found is false
// when there is none.
func (s *Store) UserByLogin(ctx context.Context, login string) (u User, found bool, err error) {
	u, found, err = s.queryUser(ctx, queryUserByLogin, login)
	if err != nil {
		return User{}, false, fmt.Errorf("look up login: %w: %w", ErrUnavailable, err)
	}
	return u, found, nil
}

// UserByID returns the account with this userId. found is false when
// there is none.
func (s *Store) UserByID(ctx context.Context, id int64) (u User, found bool, err error) {
	u, found, err = s.queryUser(ctx, queryUserByID, id)
	if err != nil {
		return User{}, false, fmt.Errorf("look up user %d: %w: %w", id, ErrUnavailable, err)
	}
	return u, found, nil
}

// RealName returns the display name the user set in the wiki, or "".
func (s *Store) RealName(ctx context.Context, login string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	var name string
	err := s.db.QueryRowContext(ctx, queryRealName, login).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read real name: %w: %w", ErrUnavailable, err)
	}
	return name, nil
}

// queryUser runs a query selecting userColumns and scans its one row.
func (s *Store) queryUser(ctx context.Context, query string, args ...any) (u User, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	u, err = scanUser(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

// scanUser reads one row of userColumns, after the columns lead points
// to, if any.
func scanUser(row interface{ Scan(...any) error }, lead ...any) (User, error) {
	var u User
	var livechatID sql.NullString
	err := row.Scan(append(lead, &u.ID, &u.Login, &u.Email, &u.Hash, &livechatID,
		&u.Waiting, &u.Valid, &u.PassConfirm, &u.TwoFactorSecret)...)
	if livechatID.Valid {
		u.LivechatID = &livechatID.String
	}
	return u, err
}

// Prefs returns the site preferences, read at most once per refresh
// interval; concurrent callers share one read. When a refresh fails and
// earlier preferences are known, those are returned with no error, so a
// database blip does not turn into a wrong decision: the caller's own
// query will fail too.
func (s *Store) Prefs(ctx context.Context) (Prefs, error) {
	s.mu.Lock()
	p, at := s.prefs, s.prefsAt
	s.mu.Unlock()
	if !at.IsZero() && s.now().Sub(at) < s.cfg.PrefsRefresh {
		return p, nil
	}
	v, err, _ := s.prefsFlight.Do("prefs", func() (any, error) {
		return s.readPrefs(ctx)
	})
	if err != nil {
		if !at.IsZero() {
			return p, nil
		}
		return Prefs{}, err
	}
	p = v.(Prefs)
	s.mu.Lock()
	s.prefs, s.prefsAt = p, s.now()
	s.mu.Unlock()
	return p, nil
}

func (s *Store) readPrefs(ctx context.Context) (Prefs, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, queryPrefs)
	if err != nil {
		return Prefs{}, fmt.Errorf("read preferences: %w: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	p := DefaultPrefs()
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return Prefs{}, fmt.Errorf("read preferences: %w: %w", ErrUnavailable, err)
		}
		p.set(name, value.String)
	}
	if err := rows.Err(); err != nil {
		return Prefs{}, fmt.Errorf("read preferences: %w: %w", ErrUnavailable, err)
	}
	return p, nil
}

// set applies one tiki_preferences row. Values Tiki would not produce keep
// the default.
func (p *Prefs) set(name, value string) {
	switch name {
	case "change_password":
		p.ChangePassword = value == "y"
	case "twoFactorAuth":
		p.TwoFactorAuth = value == "y"
	case "pass_due":
		if n, err := strconv.Atoi(value); err == nil {
			p.PassDueDays = n
		}
	}
}

// Groups returns the user's effective groups: unexpired memberships and
// everything they include, transitively, plus "Registered", which every
// Tiki account belongs to. The order is unspecified.
func (s *Store) Groups(ctx context.Context, userID int64) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, queryGroups, userID, s.now().Unix())
	if err != nil {
		return nil, fmt.Errorf("read groups of user %d: %w: %w", userID, ErrUnavailable, err)
	}
	defer rows.Close()
	groups := []string{}
	registered := false
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("read groups of user %d: %w: %w", userID, ErrUnavailable, err)
		}
		registered = registered || g == "Registered"
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read groups of user %d: %w: %w", userID, ErrUnavailable, err)
	}
	if !registered {
		groups = append(groups, "Registered")
	}
	return groups, nil
}

// Account is an account's names, as the migration tools need them.
type Account struct {
	ID         int64
	Login      string
	LivechatID *string // nil: not migrated
}

// Accounts lists every account, by userId. It reads the whole table: a
// tool's query, not a sign-in's.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, queryAccounts)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var id sql.NullString
		if err := rows.Scan(&a.ID, &a.Login, &id); err != nil {
			return nil, fmt.Errorf("list accounts: %w: %w", ErrUnavailable, err)
		}
		if id.Valid {
			a.LivechatID = &id.String
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w: %w", ErrUnavailable, err)
	}
	return out, nil
}

// ErrUnavailable is in every error the Store returns for a question the
// database did not answer: it could not be reached, timed out, refused the
// query, or sent rows that cannot be read. Callers tell such faults from
// their own with errors.Is. A missing account is not an error at all.
var ErrUnavailable = errors.New("wiki database unavailable")
