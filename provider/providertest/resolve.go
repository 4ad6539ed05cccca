package providertest

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"livechat-auth/provider"
	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

// Domain is the chat domain the suite signs in to.
const Domain = "chat.test"

// Prefs are the site preferences of the suite's wiki: Tiki's defaults
// with 2FA on.
var Prefs = wikidb.Prefs{ChangePassword: true, PassDueDays: -1, TwoFactorAuth: true}

// Password is the password of the suite's account with this login.
func Password(login string) string { return login + "-pw" }

// Accounts returns the suite's wiki accounts, passwords hashed (bcrypt
// at the lowest cost, as $2y$). Logins and livechat_ids are unique under
// the collation, as Tiki's keys make them.
func Accounts(t testing.TB) []wikidb.User {
	t.Helper()
	user := func(id int64, login string, livechatID *string) wikidb.User {
		h, err := bcrypt.GenerateFromPassword([]byte(Password(login)), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return wikidb.User{ID: id, Login: login, Email: login + "@example.org", Hash: "$2y$" + string(h[4:]),
			LivechatID: livechatID, PassConfirm: 1700000000}
	}
	id := func(s string) *string { return &s }
	users := []wikidb.User{
		user(1, "alice", id("alice")),
		user(2, "zoë", id("zoë")),
		user(3, "Trent Support", id("Trent.Support")),
		user(4, "strasse", id("Straße")),
		user(5, "nina", id("nina")),
		user(6, "rupert", nil),
		user(7, "rené", nil),
		user(8, "fullwidth", id("ｆｕｌｌ")),
		user(9, "xena", id("Xena ")),
		user(10, "quinn", id("quinn")),
		user(11, "peggy", id("peggy")),
		user(12, "ivanov", id("иванов")),
		user(13, "ivanov2", id("иванᲂв")), // U+1C82, which full case folding makes о
		user(14, "greek1", id("αι")),
		user(15, "greek2", id("ᾳ")), // U+1FB3, which full case folding makes αι
	}
	users[4].Waiting = "a"                        // suspended
	users[9].TwoFactorSecret = "JBSWY3DPEHPK3PXP" // 2FA
	users[10].PassConfirm = 0                     // must change the password first
	return users
}

// none is a resolveCase's finds for a lookup that finds no row.
const none = "(none)"

// resolveCase is one question "which account is this?".
type resolveCase struct {
	name   string
	lookup provider.Lookup
	// finds is the login of the row the Directory returns for the lookup
	// under the collation (none: no row; "": not asked, the name is
	// refused before any lookup). Both Directories must agree on it.
	finds   string
	want    error  // nil or the Reason
	jid     string // the accepted account's JID
	subject string // and its token subject (livechat_id)
	// signIn is what a password sign-in under lookup.Name with the
	// account's password answers, when it differs from want.
	signIn error
	fault  bool // Resolve fails with an error that is no Reason
}

func resolveCases() []resolveCase {
	byName := func(n string) provider.Lookup { return provider.Lookup{Name: n} }
	byLogin := func(l string) provider.Lookup { return provider.Lookup{Login: l} }
	byID := func(id int64) provider.Lookup { return provider.Lookup{UserID: id} }
	return []resolveCase{
		{name: "name: exact", lookup: byName("alice"), finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "name: case", lookup: byName("ALICE"), finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "name: fullwidth letters are the same localpart", lookup: byName("ＡＬＩＣＥ"), finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "name: trailing space", lookup: byName("alice "), want: provider.ReasonBadUsername},
		{name: "name: NUL", lookup: byName("ali\x00ce"), want: provider.ReasonBadUsername},
		{name: "name: accent dropped finds another account", lookup: byName("zoe"), finds: "zoë", want: provider.ReasonUnknownUser},
		{name: "name: accented", lookup: byName("zoë"), finds: "zoë", jid: "zoë@chat.test", subject: "zoë"},
		{name: "name: accented, upper case", lookup: byName("ZOË"), finds: "zoë", jid: "zoë@chat.test", subject: "zoë"},
		{name: "name: mixed-case livechat_id", lookup: byName("trent.support"), finds: "Trent Support", jid: "trent.support@chat.test", subject: "trent.support"},
		{name: "name: ß as ejabberd's nodeprep sends it", lookup: byName("strasse"), finds: "strasse", jid: "strasse@chat.test", subject: "straße"},
		{name: "name: ß as typed", lookup: byName("Straße"), finds: "strasse", jid: "straße@chat.test", subject: "straße"},
		{name: "name: stored in fullwidth letters", lookup: byName("full"), finds: "fullwidth", jid: "full@chat.test", subject: "full"},
		{name: "name: suspended", lookup: byName("nina"), finds: "nina", want: provider.ReasonSuspended},
		{name: "name: unmigrated, by login", lookup: byName("rupert"), finds: "rupert", want: provider.ReasonUnmigrated},
		{name: "name: unmigrated, accented login", lookup: byName("rené"), finds: "rené", want: provider.ReasonUnmigrated},
		{name: "name: accent dropped finds another unmigrated login", lookup: byName("rene"), finds: "rené", want: provider.ReasonUnknownUser},
		{name: "name: stored livechat_id is no localpart", lookup: byName("xena"), finds: "xena", want: provider.ReasonBadLivechatID},
		{name: "name: 2FA applies to passwords only", lookup: byName("quinn"), finds: "quinn", jid: "quinn@chat.test", subject: "quinn",
			signIn: provider.ReasonTwoFactorRequired},
		{name: "name: must change password", lookup: byName("peggy"), finds: "peggy", want: provider.ReasonMustChangePassword},
		{name: "name: Cyrillic", lookup: byName("иванов"), finds: "ivanov", jid: "иванов@chat.test", subject: "иванов"},
		{name: "name: Cyrillic wide o is another account", lookup: byName("иванᲂв"), finds: "ivanov2", jid: "иванᲂв@chat.test", subject: "иванᲂв"},
		{name: "name: Greek", lookup: byName("ΑΙ"), finds: "greek1", jid: "αι@chat.test", subject: "αι"},
		{name: "name: Greek iota subscript is another account", lookup: byName("ᾳ"), finds: "greek2", jid: "ᾳ@chat.test", subject: "ᾳ"},
		{name: "name: unknown", lookup: byName("nobody"), finds: none, want: provider.ReasonUnknownUser},
		{name: "name: SQL metacharacters", lookup: byName(`x\'; --`), want: provider.ReasonBadUsername},

		{name: "login: exact", lookup: byLogin("alice"), finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "login: case", lookup: byLogin("ALICE"), finds: "alice", want: provider.ReasonUnknownUser},
		{name: "login: trailing spaces", lookup: byLogin("alice  "), finds: "alice", want: provider.ReasonUnknownUser},
		{name: "login: NUL", lookup: byLogin("alice\x00"), finds: "alice", want: provider.ReasonUnknownUser},
		{name: "login: accent dropped", lookup: byLogin("zoe"), finds: "zoë", want: provider.ReasonUnknownUser},
		{name: "login: accented", lookup: byLogin("zoë"), finds: "zoë", jid: "zoë@chat.test", subject: "zoë"},
		{name: "login: ß for ss", lookup: byLogin("straße"), finds: "strasse", want: provider.ReasonUnknownUser},
		{name: "login: fullwidth letters", lookup: byLogin("ｓｔｒａｓｓｅ"), finds: "strasse", want: provider.ReasonUnknownUser},
		{name: "login: with a space", lookup: byLogin("Trent Support"), finds: "Trent Support", jid: "trent.support@chat.test", subject: "trent.support"},
		{name: "login: unmigrated", lookup: byLogin("rupert"), finds: "rupert", want: provider.ReasonUnmigrated},
		{name: "login: suspended", lookup: byLogin("nina"), finds: "nina", want: provider.ReasonSuspended},
		{name: "login: unknown", lookup: byLogin("nobody"), finds: none, want: provider.ReasonUnknownUser},

		{name: "id: migrated", lookup: byID(1), finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "id: unmigrated", lookup: byID(6), finds: "rupert", want: provider.ReasonUnmigrated},
		{name: "id: suspended", lookup: byID(5), finds: "nina", want: provider.ReasonSuspended},
		{name: "id: unknown", lookup: byID(999), finds: none, want: provider.ReasonUnknownUser},

		{name: "domain: case", lookup: provider.Lookup{Name: "alice", Domain: "Chat.Test"}, finds: "alice", jid: "alice@chat.test", subject: "alice"},
		{name: "domain: not ours", lookup: provider.Lookup{Name: "alice", Domain: "evil.test"}, want: provider.ReasonBadDomain},
		{name: "lookup names nobody", lookup: provider.Lookup{}, fault: true},
		{name: "lookup names two ways", lookup: provider.Lookup{Name: "alice", UserID: 1}, fault: true},
	}
}

// RunResolve runs the "which account" table against dir, which must
// hold Accounts and Prefs: first what dir itself finds for each name
// (the collation's match), then what Resolve and a password sign-in
// decide with it. The in-memory Directory and wikidb.Store on MariaDB
// both run it, so the fake cannot pass what the database fails.
func RunResolve(t *testing.T, dir provider.Directory) {
	ctx := context.Background()
	a, err := provider.New(dir, provider.Config{Domains: []string{Domain, "other.test"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range resolveCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.finds != "" {
				checkFinds(ctx, t, dir, tc)
			}
			acct, err := a.Resolve(ctx, tc.lookup)
			switch {
			case tc.fault: // a programming error, not a refusal
				var r provider.Reason
				if err == nil || errors.As(err, &r) {
					t.Fatalf("Resolve(%+v) = %v, want a fault", tc.lookup, err)
				}
				return
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("Resolve(%+v) = %+v, %v; want %v", tc.lookup, acct, err, tc.want)
				}
			case err != nil:
				t.Fatalf("Resolve(%+v) = %v, want %s", tc.lookup, err, tc.jid)
			case acct.JID.String() != tc.jid || acct.Subject != tc.subject || acct.User.Hash != "":
				t.Fatalf("Resolve(%+v) = JID %s, subject %q, hash %q; want %s, %q, none",
					tc.lookup, acct.JID, acct.Subject, acct.User.Hash, tc.jid, tc.subject)
			}
			if tc.lookup.Name == "" || tc.lookup.Domain != "" {
				return
			}
			want := tc.want
			if tc.signIn != nil {
				want = tc.signIn
			}
			login := tc.finds
			if login == none || login == "" {
				login = "nobody"
			}
			_, err = a.Authenticate(ctx, tc.lookup.Name, Domain, Password(login))
			if !errors.Is(err, want) || (want == nil && err != nil) {
				t.Fatalf("Authenticate(%q, its password) = %v, want %v", tc.lookup.Name, err, want)
			}
		})
	}
	t.Run("ResolveAll decides as Resolve", func(t *testing.T) { runResolveAll(ctx, t, a) })
	runTokens(t, dir)
}

// runResolveAll asks ResolveAll, in one call, every name the table asks
// of the suite's domain (and each twice, and a name refused before any
// lookup), and checks that each answer is Resolve's.
func runResolveAll(ctx context.Context, t *testing.T, a *provider.Authenticator) {
	var names []string
	for _, tc := range resolveCases() {
		if tc.lookup.Name != "" && tc.lookup.Login == "" && tc.lookup.UserID == 0 && tc.lookup.Domain == "" {
			names = append(names, tc.lookup.Name)
		}
	}
	names = append(names, names...)
	accounts, errs := a.ResolveAll(ctx, Domain, names)
	if len(accounts) != len(names) || len(errs) != len(names) {
		t.Fatalf("ResolveAll returned %d accounts and %d errors for %d names", len(accounts), len(errs), len(names))
	}
	for i, n := range names {
		want, werr := a.Resolve(ctx, provider.Lookup{Name: n, Domain: Domain})
		var wr, gr provider.Reason
		switch {
		case errors.As(werr, &wr) != errors.As(errs[i], &gr) || wr != gr:
			t.Errorf("ResolveAll %q: %v; Resolve: %v", n, errs[i], werr)
		case werr == nil && (errs[i] != nil || accounts[i].JID.String() != want.JID.String() || accounts[i].Subject != want.Subject ||
			accounts[i].PasswordStamp != want.PasswordStamp || accounts[i].User.Hash != ""):
			t.Errorf("ResolveAll %q: %s %q %v; Resolve: %s %q", n, accounts[i].JID, accounts[i].Subject, errs[i], want.JID, want.Subject)
		}
	}
	if _, errs := a.ResolveAll(ctx, "evil.test", []string{"alice"}); !errors.Is(errs[0], provider.ReasonBadDomain) {
		t.Errorf("ResolveAll on another domain: %v", errs[0])
	}
}

// tokenCase is one token sign-in: at lookup name, with a token whose
// livechat_id subject is subject.
type tokenCase struct {
	name, subject string
	want          error  // nil or the Reason
	jid           string // the accepted account's JID
}

func tokenCases() []tokenCase {
	return []tokenCase{
		{name: "alice", subject: "alice", jid: "alice@chat.test"},
		{name: "ALICE", subject: "Alice", jid: "alice@chat.test"},
		{name: "alice", subject: "zoë", want: provider.ReasonTokenSubject},
		{name: "zoe", subject: "zoë", want: provider.ReasonUnknownUser},
		{name: "trent.support", subject: "Trent.Support", jid: "trent.support@chat.test"},
		{name: "strasse", subject: "straße", jid: "strasse@chat.test"},
		{name: "straße", subject: "Straße", jid: "straße@chat.test"},
		{name: "strasse", subject: "strasse", want: provider.ReasonTokenSubject},
		{name: "иванов", subject: "иванов", jid: "иванов@chat.test"},
		{name: "иванов", subject: "иванᲂв", want: provider.ReasonTokenSubject},
		{name: "иванᲂв", subject: "иванов", want: provider.ReasonTokenSubject},
		{name: "иванᲂв", subject: "иванᲂв", jid: "иванᲂв@chat.test"},
		{name: "αι", subject: "ᾳ", want: provider.ReasonTokenSubject},
		{name: "ᾳ", subject: "αι", want: provider.ReasonTokenSubject},
		{name: "ᾳ", subject: "ᾳ", jid: "ᾳ@chat.test"},
		{name: "rupert", subject: "rupert", want: provider.ReasonUnmigrated},
		{name: "nina", subject: "nina", want: provider.ReasonSuspended},
	}
}

// runTokens signs in with a token for each tokenCase: a token names its
// account exactly, never one its subject folds to.
func runTokens(t *testing.T, dir provider.Directory) {
	secret := []byte("providertest-hs256-secret-0123456789")
	minter, err := token.NewMinter(token.MinterConfig{Key: secret})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := token.NewVerifier(token.VerifierConfig{Algorithms: []string{token.HS256},
		Secrets: map[string][]byte{"": secret}, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := provider.New(dir, provider.Config{Domains: []string{Domain}, Tokens: verifier})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tokenCases() {
		t.Run("token "+tc.subject+" as "+tc.name, func(t *testing.T) {
			raw, _, err := minter.Mint("sub", tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			acct, err := a.Authenticate(context.Background(), tc.name, Domain, raw)
			switch {
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("token for %q signing in as %q = %s, %v; want %v", tc.subject, tc.name, acct.JID, err, tc.want)
				}
			case err != nil || acct.JID.String() != tc.jid:
				t.Fatalf("token for %q signing in as %q = %s, %v; want %s", tc.subject, tc.name, acct.JID, err, tc.jid)
			}
		})
	}
}

// checkFinds asks dir itself which row the lookup finds.
func checkFinds(ctx context.Context, t *testing.T, dir provider.Directory, tc resolveCase) {
	t.Helper()
	var u wikidb.User
	var found bool
	var err error
	switch l := tc.lookup; {
	case l.Name != "":
		n, nerr := provider.NormalizeLocalpart(l.Name)
		if nerr != nil {
			t.Fatalf("%q is no localpart: no lookup to compare", l.Name)
		}
		u, found, err = dir.UserByLivechatID(ctx, n)
	case l.Login != "":
		u, found, err = dir.UserByLogin(ctx, l.Login)
	default:
		u, found, err = dir.UserByID(ctx, l.UserID)
	}
	if err != nil {
		t.Fatal(err)
	}
	got := none
	if found {
		got = u.Login
	}
	if got != tc.finds {
		t.Fatalf("the directory finds %q for %+v, want %q (the collation's match)", got, tc.lookup, tc.finds)
	}
}
