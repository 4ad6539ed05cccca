package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// OldPasswords remembers the passwords of old chat accounts that the
// migration API proved to the chat server itself (a claim), until the
// migration completes. While a wiki account holds the name and the old
// account is not yet closed, the chat server asks us first about every
// sign-in of the old account ([external, internal] on ejabberd,
// livechat_auth_fallback on Prosody): such a password is refused here as
// ReasonOldAccount, and not counted as a failure, so the old account's
// own sign-ins cannot lock out the wiki user who took its name. Anything
// else wrong is still a failure.
//
// An implementation keeps a keyed hash (an HMAC), never a password; the
// key is its own. Memory keeps them in this process; package state shares
// them among several sidecars. Key is the name's lock key.
type OldPasswords interface {
	// Prove remembers password as key's old chat password until until.
	Prove(ctx context.Context, key, password string, until time.Time)
	// Proven reports whether password was proved as key's and has not
	// expired at now.
	Proven(ctx context.Context, key, password string, now time.Time) bool
	// Forget drops every password proved for key.
	Forget(ctx context.Context, key string)
}

// ReasonOldAccount refuses the password of the old chat account that
// holds a migrated name until the migration completes: the chat server
// then tries its own account (see OldPasswords).
const ReasonOldAccount Reason = "old-account"

// OldPasswordMAC is the keyed hash an OldPasswords keeps of a proved
// password under secret.
func OldPasswordMAC(secret []byte, key, password string) []byte {
	m := hmac.New(sha256.New, secret)
	writeField(m, key)
	writeField(m, password)
	return m.Sum(nil)
}

// oldPasswordRecord is OldPasswords kept in this process (see Memory).
type oldPasswordRecord struct {
	secret []byte

	mu     sync.Mutex
	proofs map[string]map[string]time.Time // key → MAC → expiry
}

// maxOldPasswordNames bounds the names an oldPasswordRecord keeps: one
// per migration in progress.
const maxOldPasswordNames = 100000

func newOldPasswordRecord() *oldPasswordRecord {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("provider: no randomness for the old-password key: " + err.Error())
	}
	return &oldPasswordRecord{secret: secret, proofs: map[string]map[string]time.Time{}}
}

func (r *oldPasswordRecord) Prove(_ context.Context, key, password string, until time.Time) {
	mac := string(OldPasswordMAC(r.secret, key, password))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proofs[key] == nil {
		if len(r.proofs) >= maxOldPasswordNames {
			r.sweep(time.Now())
		}
		if len(r.proofs) >= maxOldPasswordNames {
			return // full of migrations in progress: this one's sign-ins count as usual
		}
		r.proofs[key] = map[string]time.Time{}
	}
	r.proofs[key][mac] = until
}

func (r *oldPasswordRecord) Proven(_ context.Context, key, password string, now time.Time) bool {
	mac := OldPasswordMAC(r.secret, key, password)
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.proofs[key][string(mac)]
	return ok && now.Before(until)
}

func (r *oldPasswordRecord) Forget(_ context.Context, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.proofs, key)
}

// sweep drops expired proofs. r.mu must be held.
func (r *oldPasswordRecord) sweep(now time.Time) {
	for key, macs := range r.proofs {
		for mac, until := range macs {
			if !now.Before(until) {
				delete(macs, mac)
			}
		}
		if len(macs) == 0 {
			delete(r.proofs, key)
		}
	}
}
