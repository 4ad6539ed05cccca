package state

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"livechat-auth/provider"
)

var _ provider.OldPasswords = OldPasswords{}

// OldPasswords is the old chat passwords the migration API proved, shared
// through Redis so that the sidecar answering the chat server sees what
// serve's claim proved: per name, a hash of MAC → expiry (Unix ms) that
// expires with its last proof. The MACs are keyed with a random secret
// kept beside them (made by the first sidecar that needs it), so Redis
// holds no password. Every proof is also kept in this process, which
// answers while Redis does not.
type OldPasswords struct {
	r     *Redis
	local provider.OldPasswords
}

// OldPasswords returns the old passwords shared in r, falling back to
// local.
func (r *Redis) OldPasswords(local provider.OldPasswords) OldPasswords {
	return OldPasswords{r: r, local: local}
}

func (o OldPasswords) secretKey() string      { return o.r.prefix + "oldpw-key" }
func (o OldPasswords) key(name string) string { return o.r.prefix + "oldpw:" + name }

// secretScript answers the secret, setting it to ARGV[1] when there is
// none.
var secretScript = redis.NewScript(`
local k = redis.call('GET', KEYS[1])
if not k then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return k
`)

// Prove keeps the proof here and in Redis.
func (o OldPasswords) Prove(ctx context.Context, name, password string, until time.Time) {
	o.local.Prove(ctx, name, password, until)
	if !o.r.up() {
		o.r.log.Warn("old chat password proved in this process only: the shared state (Redis) does not answer", "name", name)
		return
	}
	var fresh [32]byte
	_, _ = rand.Read(fresh[:]) // crypto/rand does not fail
	secret, err := secretScript.Run(ctx, o.r.client, []string{o.secretKey()}, hex.EncodeToString(fresh[:])).Text()
	if o.r.result(ctx, err) != nil {
		return
	}
	mac := hex.EncodeToString(provider.OldPasswordMAC([]byte(secret), name, password))
	pipe := o.r.client.TxPipeline()
	pipe.HSet(ctx, o.key(name), mac, until.UnixMilli())
	pipe.PExpireAt(ctx, o.key(name), until) // the newest proof's expiry: proofs of one name are made together
	_, err = pipe.Exec(ctx)
	o.r.result(ctx, err)
}

// Proven asks this process first, then Redis (one round trip): a proof
// made here survives Redis losing its data, and one made by another
// sidecar is found in Redis.
func (o OldPasswords) Proven(ctx context.Context, name, password string, now time.Time) bool {
	if o.local.Proven(ctx, name, password, now) {
		return true
	}
	if o.r.up() {
		ok, err := o.proven(ctx, name, password, now)
		return err == nil && ok
	}
	return false
}

func (o OldPasswords) proven(ctx context.Context, name, password string, now time.Time) (bool, error) {
	pipe := o.r.client.Pipeline()
	secret := pipe.Get(ctx, o.secretKey())
	proofs := pipe.HGetAll(ctx, o.key(name))
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return false, nil // no secret: nothing was proved since Redis was whole
	}
	if err := o.r.result(ctx, err); err != nil {
		return false, err
	}
	want := hex.EncodeToString(provider.OldPasswordMAC([]byte(secret.Val()), name, password))
	for mac, until := range proofs.Val() {
		ms, err := strconv.ParseInt(until, 10, 64)
		if err == nil && hmac.Equal([]byte(mac), []byte(want)) && now.Before(time.UnixMilli(ms)) {
			return true, nil
		}
	}
	return false, nil
}

// Forget drops the proofs here and in Redis.
func (o OldPasswords) Forget(ctx context.Context, name string) {
	o.local.Forget(ctx, name)
	if o.r.up() {
		o.r.result(ctx, o.r.client.Del(ctx, o.key(name)).Err())
	}
}
