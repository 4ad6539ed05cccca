package test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"livechat-auth/provider/providertest"
)

// TestCollationTable: the collation table behind providertest.Collate
// (the fakes' utf8mb4_unicode_ci) is the running MariaDB's own, weight
// for weight, for every character of the Basic Multilingual Plane, so a
// fake cannot find a name equal, or two names apart, where the database
// does not. LIVECHAT_AUTH_UPDATE_COLLATION=1 rewrites the table from this
// MariaDB instead.
func TestCollationTable(t *testing.T) {
	db := openRoot(t)
	got := make([][]byte, 0x10000)
	const chunk = 1024
	for lo := 0; lo < 0x10000; lo += chunk {
		var q strings.Builder
		var args []any
		for r := lo; r < lo+chunk; r++ {
			if r >= 0xD800 && r < 0xE000 {
				continue // surrogates: no character, no UTF-8
			}
			if len(args) > 0 {
				q.WriteString(" UNION ALL ")
			}
			q.WriteString("SELECT ?, WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci)")
			args = append(args, r, string(rune(r)))
		}
		if len(args) == 0 {
			continue
		}
		rows, err := db.Query(q.String(), args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r int
			var w []byte
			if err := rows.Scan(&r, &w); err != nil {
				t.Fatal(err)
			}
			got[r] = w
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if os.Getenv("LIVECHAT_AUTH_UPDATE_COLLATION") == "1" {
		gz, err := providertest.EncodeCollation(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../"+providertest.CollationFile, gz, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", providertest.CollationFile, len(gz))
		return
	}
	gz, err := os.ReadFile("../" + providertest.CollationFile)
	if err != nil {
		t.Fatal(err)
	}
	want, err := providertest.DecodeCollation(gz)
	if err != nil {
		t.Fatal(err)
	}
	var differ []string
	for r := range got {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		if !bytes.Equal(got[r], want[r]) {
			differ = append(differ, fmt.Sprintf("U+%04X %q: MariaDB %X, table %X", r, rune(r), got[r], want[r]))
		}
	}
	if len(differ) > 0 {
		t.Errorf("%d characters weigh otherwise in this MariaDB than in the table, e.g.\n%s", len(differ), strings.Join(differ[:min(len(differ), 10)], "\n"))
	}
	// Whole names, as the fakes compare them: trailing spaces (and what
	// weighs as one), characters past the BMP, ignorables.
	for _, pair := range [][2]string{{"alice", "ALICE  "}, {"alice\u00a0", "alice"}, {"a\U0001F600", "a\U0001F601"}, {"ba", "b\u0000a"}, {"ｱﾘｽ", "アリス"}, {"zoë", "zoe"}, {"strasse", "straße"}, {"ivan", "ivanov"}, {"a b", "ab"}} {
		var equal bool
		if err := db.QueryRow("SELECT CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci = CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci", pair[0], pair[1]).Scan(&equal); err != nil {
			t.Fatal(err)
		}
		if fake := providertest.Collate(pair[0]) == providertest.Collate(pair[1]); fake != equal {
			t.Errorf("%q = %q: MariaDB %v, Collate %v", pair[0], pair[1], equal, fake)
		}
	}
}

// openRoot opens a privileged connection to the test MariaDB.
func openRoot(t *testing.T) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(rootDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Collation = "utf8mb4_unicode_ci"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		need(t, "MariaDB", false, "scripts/setup.sh starts it")
	}
	return db
}
