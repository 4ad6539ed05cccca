package guard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/jid"

	"livechat-auth/provider"
)

// fakeAccounts answers Resolve from a table: an error, or an account with
// a stamp.
type fakeAccounts map[string]any // localpart → error or stamp string

func (f fakeAccounts) Resolve(_ context.Context, l provider.Lookup) (provider.Account, error) {
	switch v := f[l.Name].(type) {
	case error:
		return provider.Account{}, v
	case string:
		return provider.Account{PasswordStamp: v}, nil
	}
	return provider.Account{}, provider.ReasonUnknownUser
}

func (f fakeAccounts) ResolveAll(ctx context.Context, domain string, names []string) ([]provider.Account, []error) {
	accts, errs := make([]provider.Account, len(names)), make([]error, len(names))
	for i, n := range names {
		accts[i], errs[i] = f.Resolve(ctx, provider.Lookup{Name: n, Domain: domain})
	}
	return accts, errs
}

type fakeAdmin struct {
	online []string
	ended  []string
	fail   error
}

func (f *fakeAdmin) OnlineUsers(_ context.Context, domain jid.JID) ([]jid.JID, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	var out []jid.JID
	for _, u := range f.online {
		out = append(out, jid.MustParse(u))
	}
	return out, nil
}

func (f *fakeAdmin) EndSessions(_ context.Context, u jid.JID) error {
	f.ended = append(f.ended, u.String())
	return nil
}

func TestGuardPass(t *testing.T) {
	ctx := context.Background()
	accounts := fakeAccounts{
		"alice": "bcrypt:s1", "bob": "bcrypt:s1", "carol": "bcrypt:s1", "admin": "bcrypt:s1", "erin": "md5:s1", "frank": "bcrypt:s1",
		"dave": errors.New("look up livechat_id: the wiki database did not answer"),
		// olduser is the chat server's own account: never a wiki account.
	}
	adm := &fakeAdmin{online: []string{"alice@chat.test", "bob@chat.test/phone", "bob@chat.test/laptop", "carol@chat.test",
		"dave@chat.test", "admin@chat.test", "stranger@other.test", "olduser@chat.test", "erin@chat.test", "frank@chat.test"}}
	g := New(hclog.NewNullLogger(), nil)
	self := []jid.JID{jid.MustParse("admin@chat.test")}
	p, err := g.Run(ctx, accounts, adm, []string{"chat.test"}, self, false)
	if err != nil || len(p.Ended) != 0 || p.Online != 7 || p.Skipped != 1 {
		t.Fatalf("first pass: %+v, %v; want 7 online (bob once, admin and the other domain left out), dave skipped, none ended (olduser never was a wiki account)", p, err)
	}

	accounts["alice"] = provider.ReasonSuspended
	accounts["erin"] = "bcrypt:s2"                       // the wiki rewrote a legacy hash: not a change
	accounts["frank"] = provider.ReasonUnknownUser       // deleted since it was seen
	accounts["bob"] = "bcrypt:s2"                        // password changed
	accounts["carol"] = provider.ReasonTwoFactorRequired // not a state that ends a session
	accounts["admin"] = provider.ReasonSuspended         // never its own
	p, err = g.Run(ctx, accounts, adm, []string{"chat.test"}, self, true)
	if err != nil || len(p.Ended) != 3 || len(adm.ended) != 0 {
		t.Fatalf("dry run: %+v, %v, ended %v", p, err, adm.ended)
	}
	p, err = g.Run(ctx, accounts, adm, []string{"chat.test"}, self, false)
	got := map[string]string{}
	for _, e := range p.Ended {
		got[e.JID.String()] = e.Reason
	}
	if err != nil || len(got) != 3 || got["alice@chat.test"] != "suspended" || got["bob@chat.test"] != ReasonPasswordChanged || got["frank@chat.test"] != "unknown-user" {
		t.Fatalf("pass: %v, %v", got, err)
	}
	if len(adm.ended) != 3 {
		t.Errorf("ended %v", adm.ended)
	}
	if !g.Ending("alice", "chat.test") || g.Ending("carol", "chat.test") {
		t.Error("Ending does not tell the account being ended")
	}

	// bob signs in again with the new password: not ended again; frank,
	// ended as deleted, is no longer known to have been a wiki account.
	adm.ended = nil
	if p, _ := g.Run(ctx, accounts, adm, []string{"chat.test"}, self, false); len(p.Ended) != 1 || p.Ended[0].JID.Localpart() != "alice" {
		t.Errorf("after the change was acted on: %+v", p.Ended)
	}

	adm.fail = errors.New("item-not-found")
	if _, err := g.Run(ctx, accounts, adm, []string{"chat.test"}, self, false); err == nil {
		t.Error("a server that cannot list its users is no error")
	}
}

// TestGuardEndingExpires: the allowance lasts for a while only.
func TestGuardEndingExpires(t *testing.T) {
	now := time.Unix(1800000000, 0)
	g := New(hclog.NewNullLogger(), func() time.Time { return now })
	adm := &fakeAdmin{online: []string{"alice@chat.test"}}
	g.Run(context.Background(), fakeAccounts{"alice": "bcrypt:s"}, adm, []string{"chat.test"}, nil, false) // seen
	g.Run(context.Background(), fakeAccounts{}, adm, []string{"chat.test"}, nil, false)                    // deleted: ended
	if !g.Ending("alice", "chat.test") {
		t.Fatal("not ending")
	}
	now = now.Add(ending + time.Second)
	if g.Ending("alice", "chat.test") {
		t.Error("still ending after the allowance")
	}
}
