package provider

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"livechat-auth/provider/expiring"
	"livechat-auth/wikidb"
)

// cacheKey identifies one verified (account, login, e-mail, stored hash,
// password) tuple: login and e-mail are part of the legacy md5 forms. It is an HMAC under a key made fresh for each process, so the
// cache never holds a password or anything an attacker could test
// passwords against offline.
type cacheKey [sha256.Size]byte

// verifiedCache remembers passwords that matched a stored hash, for a
// short time. A different stored hash gives a different key, so a
// password change in the wiki takes effect at once. It is safe for
// concurrent use and holds at most max entries.
type verifiedCache struct {
	ttl time.Duration
	max int
	*verifiedRecord
}

// verifiedRecord is the verified entries and their key, kept apart from
// the cache's settings so that they outlive a reload (see Memory).
type verifiedRecord struct {
	secret []byte

	entries *expiring.Set[cacheKey]
}

func newVerifiedRecord() *verifiedRecord {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("provider: no randomness for the cache key: " + err.Error())
	}
	return &verifiedRecord{secret: secret, entries: expiring.New[cacheKey]()}
}

func newVerifiedCache(ttl time.Duration, max int, rec *verifiedRecord) *verifiedCache {
	return &verifiedCache{ttl: ttl, max: max, verifiedRecord: rec}
}

func (c *verifiedCache) key(u wikidb.User, password string) cacheKey {
	m := hmac.New(sha256.New, c.secret)
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(u.ID))
	m.Write(id[:])
	writeField(m, u.Login)
	writeField(m, u.Email)
	writeField(m, u.Hash)
	writeField(m, password)
	var k cacheKey
	m.Sum(k[:0])
	return k
}

// stamp is PasswordStamp of a stored hash: its format, ":", and an HMAC
// of it.
func (c *verifiedCache) stamp(hash string) string {
	m := hmac.New(sha256.New, c.secret)
	writeField(m, "password stamp")
	writeField(m, hash)
	return string(FormatOf(hash)) + ":" + hex.EncodeToString(m.Sum(nil)[:12])
}

// writeField writes a length-prefixed field so that no two field lists
// hash alike.
func writeField(m interface{ Write([]byte) (int, error) }, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	m.Write(n[:])
	m.Write([]byte(s))
}

// has reports whether k was stored and has not expired.
func (c *verifiedCache) has(k cacheKey, now time.Time) bool {
	return c.ttl > 0 && c.entries.Has(k, now)
}

// add stores k. When the cache is full, expired entries are dropped, and
// if none were, an arbitrary entry is.
func (c *verifiedCache) add(k cacheKey, now time.Time) {
	if c.ttl <= 0 || c.max <= 0 {
		return
	}
	c.entries.Trim(c.max, now)
	c.entries.Add(k, now.Add(c.ttl), now)
}
