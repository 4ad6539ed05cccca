package token

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"livechat-auth/provider/expiring"
)

// UsedRecord is where a Verifier records the jtis signed in with.
// *UsedTokens keeps them in this process; package state shares them among
// several sidecars.
type UsedRecord interface {
	// Use marks id, of a token issued at issued, used until exp. It
	// returns ErrUsed when id already was (or exp is not after now), and
	// another error when the
	// record cannot tell (the token is then refused: fail closed).
	Use(ctx context.Context, id string, issued, exp, now time.Time) error
}

// ErrUsed is UsedRecord.Use's answer for a jti already used.
var ErrUsed = errors.New("token already used")

// UsedTokens records the jtis already signed in with, until their tokens
// expire. It is safe for concurrent use; one record may serve several
// Verifiers (for instance across a configuration reload).
//
// A record opened with OpenUsedTokens also appends every use to a file
// and reads it back when the next process opens it, so a restart does not
// make a used token good again while it is still valid.
type UsedTokens struct {
	mu   sync.Mutex            // held over a use: its check, its journal line and its entry
	used *expiring.Set[string] // jti → expiry

	file     *os.File // the journal; nil for a record kept in memory only
	path     string
	appended int // lines written since the journal was last compacted
}

// NewUsedTokens returns an empty record kept in memory only.
func NewUsedTokens() *UsedTokens { return &UsedTokens{used: expiring.New[string]()} }

// OpenUsedTokens returns a record kept in memory and journaled to path
// (created with mode 0600 when missing). Entries of tokens that expired
// before now are dropped and the journal is rewritten without them. The
// caller closes the record.
func OpenUsedTokens(path string, now time.Time) (*UsedTokens, error) {
	u := NewUsedTokens()
	u.path = path
	if err := u.load(now); err != nil {
		return nil, err
	}
	if err := u.compactLocked(); err != nil {
		return nil, err
	}
	return u, nil
}

// Close closes the journal, if any.
func (u *UsedTokens) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.file == nil {
		return nil
	}
	err := u.file.Close()
	u.file = nil
	return err
}

// Use marks id used until exp. A use that cannot be journaled (one a
// restart would forget) is refused: fail closed.
func (u *UsedTokens) Use(_ context.Context, id string, _, exp, now time.Time) error {
	if !now.Before(exp) {
		return ErrUsed // expired: never accepted, and nothing to keep
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used.Has(id, now) {
		return ErrUsed
	}
	if u.path != "" {
		if u.file == nil {
			return errJournalClosed // closed, or a compaction failed
		}
		if _, err := u.file.WriteString(journalLine(id, exp)); err != nil {
			return fmt.Errorf("used-token record: %w", err)
		}
		u.appended++
		if u.appended > 4096 && u.appended > 2*u.used.Len() {
			u.used.Add(id, exp, now)
			return u.compactLocked()
		}
	}
	u.used.Add(id, exp, now)
	return nil
}

var errJournalClosed = errors.New("used-token record: the journal is closed")

// journalLine is one entry: the expiry in Unix seconds and the jti in
// base64url, so no jti can break the line format.
func journalLine(id string, exp time.Time) string {
	return strconv.FormatInt(exp.Unix(), 10) + " " + base64.RawURLEncoding.EncodeToString([]byte(id)) + "\n"
}

// load reads the journal, keeping entries still valid at now. A missing
// journal is an empty record; a last line cut short (a write torn by a
// crash) is ignored; any other line that cannot be read is an error, so a
// damaged journal is noticed rather than silently forgotten.
func (u *UsedTokens) load(now time.Time) error {
	data, err := os.ReadFile(u.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("used-token record: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	for n, line := range lines[:len(lines)-1] { // the part after the last newline is torn or empty
		if line == "" {
			continue
		}
		expText, idText, ok := strings.Cut(line, " ")
		sec, err1 := strconv.ParseInt(expText, 10, 64)
		id, err2 := base64.RawURLEncoding.DecodeString(idText)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("used-token record %s: line %d is damaged", u.path, n+1)
		}
		if exp := time.Unix(sec, 0); now.Before(exp) {
			u.used.Add(string(id), exp, now)
		}
	}
	return nil
}

// compactLocked rewrites the journal with the entries in memory and
// reopens it for appending. u.mu must be held (or u not yet shared).
func (u *UsedTokens) compactLocked() error {
	if u.file != nil {
		u.file.Close()
		u.file = nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(u.path), ".used-*")
	if err != nil {
		return fmt.Errorf("used-token record: %w", err)
	}
	w := bufio.NewWriter(tmp)
	u.used.Range(func(id string, exp time.Time) { w.WriteString(journalLine(id, exp)) })
	err = errors.Join(w.Flush(), tmp.Chmod(0o600), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), u.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("used-token record: %w", err)
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("used-token record: %w", err)
	}
	u.file, u.appended = f, 0
	return nil
}
