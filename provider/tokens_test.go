package provider

import (
	"context"
	"errors"
	"testing"
	"time"

	"livechat-auth/provider/token"
	"livechat-auth/wikidb"
)

var tokenSecret = []byte("a shared secret of at least thirty-two bytes")

func newTokenFixture(t *testing.T, subject Subject) (*Authenticator, *token.Minter) {
	t.Helper()
	dir, _ := newFixture(t)
	v, err := token.NewVerifier(token.VerifierConfig{Algorithms: []string{token.HS256},
		Secrets: map[string][]byte{"k1": tokenSecret}, Issuer: "livechat-auth", Audience: "chat", Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(time.Now)
	cfg.Tokens, cfg.TokenSubject = v, subject
	a, err := New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewMinter(token.MinterConfig{Key: tokenSecret, KeyID: "k1", Issuer: "livechat-auth", Audience: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	return a, m
}

func mint(t *testing.T, m *token.Minter, subject string) string {
	t.Helper()
	raw, _, err := m.Mint("sub", subject)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTokenSignIn(t *testing.T) {
	a, m := newTokenFixture(t, SubjectLivechatID)
	ctx := context.Background()
	tests := []struct {
		name, user, subject string
		want                error
	}{
		{"own token", "alice", "alice", nil},
		{"mixed-case subject", "trent.support", "Trent.Support", nil},
		{"A's token used as B", "trent.support", "alice", ReasonTokenSubject},
		{"2FA account: the wiki checked the code", "quinn", "quinn", nil},
		{"suspended account", "nina", "nina", ReasonSuspended},
		{"unvalidated account", "mallory", "mallory", ReasonUnvalidated},
		{"must change password", "peggy", "peggy", ReasonMustChangePassword},
		{"unknown account", "nobody", "nobody", ReasonUnknownUser},
		{"account with no local password (OpenID)", "judy", "judy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, err := a.Authenticate(ctx, tt.user, "chat.test", mint(t, m, tt.subject))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.want)
			}
			if err == nil && (acct.Token == nil || acct.Token.ID == "") {
				t.Fatalf("accepted account carries no token claims: %+v", acct)
			}
		})
	}
}

func TestTokenSingleUse(t *testing.T) {
	a, m := newTokenFixture(t, SubjectLivechatID)
	raw := mint(t, m, "alice")
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", raw); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", raw); !errors.Is(err, Reason(token.ProblemReplayed)) {
		t.Fatalf("replay: %v", err)
	}
}

func TestTokenRefusalIsAReason(t *testing.T) {
	a, _ := newTokenFixture(t, SubjectLivechatID)
	other, err := token.NewMinter(token.MinterConfig{Key: []byte("another secret, also thirty-two bytes long"), KeyID: "k1",
		Issuer: "livechat-auth", Audience: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), "alice", "chat.test", mint(t, other, "alice"))
	var r Reason
	if !errors.As(err, &r) || r != Reason(token.ProblemSignature) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestTokenSubjectKinds(t *testing.T) {
	for _, tt := range []struct {
		kind    Subject
		subject string
	}{
		{SubjectLogin, "Trent"},
		{SubjectUserID, "2"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			a, m := newTokenFixture(t, tt.kind)
			if _, err := a.Authenticate(context.Background(), "trent.support", "chat.test", mint(t, m, tt.subject)); err != nil {
				t.Fatalf("own subject: %v", err)
			}
			if _, err := a.Authenticate(context.Background(), "alice", "chat.test", mint(t, m, tt.subject)); !errors.Is(err, ReasonTokenSubject) {
				t.Fatalf("someone else's subject: %v", err)
			}
		})
	}
}

func TestSubjectOf(t *testing.T) {
	id := "Trent.Support"
	u := wikidb.User{ID: 7, Login: "Trent", LivechatID: &id}
	for kind, want := range map[Subject]string{SubjectLivechatID: "trent.support", SubjectLogin: "Trent", SubjectUserID: "7"} {
		if got, err := SubjectOf(kind, u); err != nil || got != want {
			t.Errorf("SubjectOf(%s) = %q, %v; want %q", kind, got, err, want)
		}
	}
	if _, err := SubjectOf(SubjectLivechatID, wikidb.User{}); !errors.Is(err, ReasonUnmigrated) {
		t.Errorf("unmigrated: %v", err)
	}
}

// TestJunkTokensDoNotLockOut: refused tokens neither count as failures
// nor are blocked by the failure limit.
func TestJunkTokensDoNotLockOut(t *testing.T) {
	a, m := newTokenFixture(t, SubjectLivechatID)
	ctx := context.Background()
	junk := mint(t, m, "alice")
	junk = junk[:len(junk)-4] + "AAAA" // a broken signature
	for i := 0; i < 10; i++ {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", junk); errors.Is(err, ReasonRateLimited) {
			t.Fatal("a junk token was rate-limited")
		}
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", "alice-pw"); err != nil {
		t.Fatalf("password after junk tokens: %v", err)
	}
	if _, err := a.Authenticate(ctx, "alice", "chat.test", mint(t, m, "alice")); err != nil {
		t.Fatalf("a good token after junk tokens: %v", err)
	}
}
