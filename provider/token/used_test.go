package token

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var ctx = context.Background()

func TestUsedTokensSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used")
	now := time.Unix(1800000000, 0)
	u, err := OpenUsedTokens(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Use(ctx, "live", time.Time{}, now.Add(5*time.Minute), now) != nil || u.Use(ctx, "soon-gone", time.Time{}, now.Add(time.Minute), now) != nil {
		t.Fatal("a fresh jti was refused")
	}
	if u.Use(ctx, "live", time.Time{}, now.Add(5*time.Minute), now) == nil {
		t.Fatal("a used jti was accepted again in the same process")
	}
	weird := "a b\nc\x00é" // spaces, a newline, NUL: must not break the journal
	if u.Use(ctx, weird, time.Time{}, now.Add(5*time.Minute), now) != nil {
		t.Fatal("a fresh odd jti was refused")
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode: %v %v, want 0600", fi.Mode().Perm(), err)
	}

	later := now.Add(2 * time.Minute)
	again, err := OpenUsedTokens(path, later)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Use(ctx, "live", time.Time{}, now.Add(5*time.Minute), later) == nil {
		t.Error("after a restart, a used jti was accepted again")
	}
	if again.Use(ctx, weird, time.Time{}, now.Add(5*time.Minute), later) == nil {
		t.Error("after a restart, a used odd jti was accepted again")
	}
	if again.Use(ctx, "soon-gone", time.Time{}, later.Add(5*time.Minute), later) != nil {
		t.Error("an entry whose token had expired was not dropped")
	}
	if again.Use(ctx, "new", time.Time{}, later.Add(time.Minute), later) != nil {
		t.Error("a fresh jti was refused after a restart")
	}
}

func TestUsedTokensDamagedJournalIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used")
	if err := os.WriteFile(path, []byte("1800000300 bGl2ZQ\nnot a line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenUsedTokens(path, time.Unix(1800000000, 0)); err == nil {
		t.Fatal("a damaged journal was read without error")
	}
}

func TestUsedTokensUnwritableRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used")
	now := time.Unix(1800000000, 0)
	u, err := OpenUsedTokens(path, now)
	if err != nil {
		t.Fatal(err)
	}
	u.Close() // a journal that can no longer be written
	if u.Use(ctx, "x", time.Time{}, now.Add(time.Minute), now) == nil {
		t.Fatal("a use that could not be journaled was accepted")
	}
}

func TestUsedTokensJournalIsCompacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used")
	now := time.Unix(1800000000, 0)
	u, err := OpenUsedTokens(path, now)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := range 20000 {
		// Each token expires a second after it is used: few stay live.
		at := now.Add(time.Duration(i) * time.Second)
		if u.Use(ctx, strconv.Itoa(i), time.Time{}, at.Add(time.Second), at) != nil {
			t.Fatalf("jti %d refused", i)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if line := int64(len(journalLine("19999", now))); fi.Size() > 8192*line {
		t.Fatalf("journal of %d bytes after 20000 short-lived uses: not compacted", fi.Size())
	}
}

func TestUsedTokensTornLastLineIsIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "used")
	if err := os.WriteFile(path, []byte(journalLine("live", time.Unix(1800000300, 0))+"18000"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1800000000, 0)
	u, err := OpenUsedTokens(path, now)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if u.Use(ctx, "live", time.Time{}, time.Unix(1800000300, 0), now) == nil {
		t.Fatal("the entry before a torn last line was lost")
	}
}
