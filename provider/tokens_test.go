package provider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"livechat-auth/provider"
	"livechat-auth/provider/token"
)

var tokenSecret = []byte("a shared secret of at least thirty-two bytes")

func newTokenFixture(t *testing.T, subject provider.Subject) (*provider.Authenticator, *token.Minter) {
	t.Helper()
	dir, _ := newFixture(t)
	v, err := token.NewVerifier(token.VerifierConfig{Algorithms: []string{token.HS256},
		Secrets: map[string][]byte{"k1": tokenSecret}, Issuer: "livechat-auth", Audience: "chat", Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(time.Now)
	cfg.Tokens, cfg.TokenSubject = v, subject
	a, err := provider.New(dir, cfg)
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
	a, m := newTokenFixture(t, provider.SubjectLivechatID)
	ctx := context.Background()
	tests := []struct {
		name, user, subject string
		want                error
	}{
		{"own token", "alice", "alice", nil},
		{"mixed-case subject", "trent.support", "Trent.Support", nil},
		{"A's token used as B", "trent.support", "alice", provider.ReasonTokenSubject},
		{"2FA account: the wiki checked the code", "quinn", "quinn", nil},
		{"suspended account", "nina", "nina", provider.ReasonSuspended},
		{"unvalidated account", "mallory", "mallory", provider.ReasonUnvalidated},
		{"must change password", "peggy", "peggy", provider.ReasonMustChangePassword},
		{"unknown account", "nobody", "nobody", provider.ReasonUnknownUser},
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
	a, m := newTokenFixture(t, provider.SubjectLivechatID)
	raw := mint(t, m, "alice")
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", raw); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), "alice", "chat.test", raw); !errors.Is(err, provider.Reason(token.ProblemReplayed)) {
		t.Fatalf("replay: %v", err)
	}
}

func TestTokenRefusalIsAReason(t *testing.T) {
	a, _ := newTokenFixture(t, provider.SubjectLivechatID)
	other, err := token.NewMinter(token.MinterConfig{Key: []byte("another secret, also thirty-two bytes long"), KeyID: "k1",
		Issuer: "livechat-auth", Audience: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), "alice", "chat.test", mint(t, other, "alice"))
	var r provider.Reason
	if !errors.As(err, &r) || r != provider.Reason(token.ProblemSignature) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestTokenSubjectKinds(t *testing.T) {
	for _, tt := range []struct {
		kind    provider.Subject
		subject string
	}{
		{provider.SubjectLogin, "Trent"},
		{provider.SubjectUserID, "2"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			a, m := newTokenFixture(t, tt.kind)
			if _, err := a.Authenticate(context.Background(), "trent.support", "chat.test", mint(t, m, tt.subject)); err != nil {
				t.Fatalf("own subject: %v", err)
			}
			if _, err := a.Authenticate(context.Background(), "alice", "chat.test", mint(t, m, tt.subject)); !errors.Is(err, provider.ReasonTokenSubject) {
				t.Fatalf("someone else's subject: %v", err)
			}
		})
	}
}

// TestResolveSubjectKinds: the subject a token for an account carries,
// by configured kind.
func TestResolveSubjectKinds(t *testing.T) {
	dir, _ := newFixture(t)
	for kind, want := range map[provider.Subject]string{provider.SubjectLivechatID: "trent.support", provider.SubjectLogin: "Trent", provider.SubjectUserID: "2"} {
		cfg := testConfig(time.Now)
		cfg.TokenSubject = kind
		a, err := provider.New(dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		acct, err := a.Resolve(context.Background(), provider.Lookup{Name: "Trent.Support"})
		if err != nil || acct.Subject != want {
			t.Errorf("%s: subject %q, %v; want %q", kind, acct.Subject, err, want)
		}
	}
}

// TestJunkTokensDoNotLockOut: refused tokens neither count as failures
// nor are blocked by the failure limit.
func TestJunkTokensDoNotLockOut(t *testing.T) {
	a, m := newTokenFixture(t, provider.SubjectLivechatID)
	ctx := context.Background()
	junk := mint(t, m, "alice")
	junk = junk[:len(junk)-4] + "AAAA" // a broken signature
	for i := 0; i < 10; i++ {
		if _, err := a.Authenticate(ctx, "alice", "chat.test", junk); errors.Is(err, provider.ReasonRateLimited) {
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
