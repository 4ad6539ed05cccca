package provider

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/GehirnInc/crypt/md5_crypt"
	"golang.org/x/crypto/bcrypt"
)

// HashFormat names a users_users.hash format.
type HashFormat string

// The formats found in Tiki databases (see DESIGN.md).
const (
	FormatBcrypt   HashFormat = "bcrypt"    // $2y$/$2a$/$2b$: Tiki 17+ password_hash()
	FormatMD5Crypt HashFormat = "md5-crypt" // $1$salt$…: Tiki 1.10–16 option
	FormatMD5Hex   HashFormat = "md5"       // 32 hex: md5(pass), md5(login.pass), md5(login.pass.trim(email))
	FormatDES      HashFormat = "des"       // 13 chars, no $: crypt-DES, not verifiable by Tiki 17+
	FormatEmpty    HashFormat = "empty"     // OpenID or external-auth accounts
	FormatUnknown  HashFormat = "unknown"
)

// bcryptMaxPassword is where PHP's bcrypt stops reading a password.
const bcryptMaxPassword = 72

// MaxBcryptCost is the highest bcrypt cost verified. Each step doubles the
// time (cost 10, Tiki's default, takes about 60 ms here; 14 about 1 s);
// a hash above it could hold an extauth worker past ejabberd's 30 s limit,
// so it is refused as unsupported-hash.
const MaxBcryptCost = 14

// FormatOf tells which format a stored hash has.
func FormatOf(hash string) HashFormat {
	switch {
	case hash == "":
		return FormatEmpty
	case len(hash) == 60 && (strings.HasPrefix(hash, "$2y$") || strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$")):
		return FormatBcrypt
	case strings.HasPrefix(hash, "$1$"):
		return FormatMD5Crypt
	case len(hash) == 32 && isHex(hash):
		return FormatMD5Hex
	case len(hash) == 13 && !strings.Contains(hash, "$"):
		return FormatDES
	}
	return FormatUnknown
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// VerifyPassword checks password against a stored Tiki hash the way
// TikiWiki 24 does. login and email are the account's stored values, used
// by the legacy md5 forms. It returns nil on a match, ReasonBadPassword on
// a mismatch, and ReasonNoLocalPassword or ReasonUnsupportedHash for hashes
// that can never match. All comparisons are constant-time and exact: no
// PHP "==" juggling of "0e…" digests.
func VerifyPassword(hash, password, login, email string) error {
	switch FormatOf(hash) {
	case FormatBcrypt:
		return verifyBcrypt(hash, password)
	case FormatMD5Crypt:
		if md5_crypt.New().Verify(hash, []byte(password)) != nil {
			return ReasonBadPassword
		}
		return nil
	case FormatMD5Hex:
		return verifyMD5Hex(hash, password, login, email)
	case FormatEmpty:
		return ReasonNoLocalPassword
	}
	return ReasonUnsupportedHash
}

func verifyBcrypt(hash, password string) error {
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost > MaxBcryptCost {
		return ReasonUnsupportedHash
	}
	p := []byte(password)
	if len(p) > bcryptMaxPassword {
		p = p[:bcryptMaxPassword] // as PHP's password_verify does
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), p)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ReasonBadPassword
	}
	return ReasonUnsupportedHash
}

// verifyMD5Hex tries the three legacy forms: md5(pass) (Tiki 1.10–16),
// md5(login.pass) (1.9) and md5(login.pass.trim(email)) (before 1.9).
// Tiki compares the stored text with PHP's lower-case md5() output, so an
// upper-case stored digest never matches there, and does not here.
func verifyMD5Hex(hash, password, login, email string) error {
	candidates := [...]string{password, login + password, login + password + phpTrim(email)}
	match := 0
	var digest [2 * md5.Size]byte
	for _, c := range candidates {
		sum := md5.Sum([]byte(c))
		hex.Encode(digest[:], sum[:])
		match |= subtle.ConstantTimeCompare([]byte(hash), digest[:])
	}
	if match != 1 {
		return ReasonBadPassword
	}
	return nil
}

// phpTrim removes what PHP's trim() removes by default.
func phpTrim(s string) string { return strings.Trim(s, " \t\n\r\x00\x0b") }

// dummyHash is a bcrypt hash (cost 10, Tiki's default) of a random value.
const dummyHash = "$2y$10$kWCi74fRvJLiNgVt7L5JruMRsHxYJbYLUULccd3dxjygKZHjtvlt."

// dummyHashes holds a bcrypt hash of a random value for each cost asked
// for, made once.
var dummyHashes sync.Map // cost → hash

// dummyHashFor returns a bcrypt hash of a random value at cost.
func dummyHashFor(cost int) string {
	if cost == 10 || cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return dummyHash
	}
	if h, ok := dummyHashes.Load(cost); ok {
		return h.(string)
	}
	var random [18]byte
	_, _ = rand.Read(random[:]) // crypto/rand never fails on Linux
	h, err := bcrypt.GenerateFromPassword(random[:], cost)
	if err != nil {
		return dummyHash
	}
	actual, _ := dummyHashes.LoadOrStore(cost, string(h))
	return actual.(string)
}

// bcryptCost returns the cost of a stored bcrypt hash that is verified,
// and 0 for any other hash, including a bcrypt one of a cost over
// MaxBcryptCost (refused unverified).
func bcryptCost(hash string) int {
	if FormatOf(hash) != FormatBcrypt {
		return 0
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil || cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return 0
	}
	return cost
}

// costCounts counts the bcrypt hashes verified, by cost, so that refusals
// that verify no real hash can cost what the site's usual hash costs.
type costCounts [MaxBcryptCost + 1]atomic.Int64

// add counts one verification of a hash of this cost.
func (c *costCounts) add(cost int) {
	if cost >= bcrypt.MinCost && cost <= MaxBcryptCost {
		c[cost].Add(1)
	}
}

// usual returns the cost verified most often, 10 (PHP's default) before
// any.
func (c *costCounts) usual() int {
	best, most := 10, int64(0)
	for cost := bcrypt.MinCost; cost <= MaxBcryptCost; cost++ {
		if n := c[cost].Load(); n > most {
			best, most = cost, n
		}
	}
	return best
}

// spendDummyVerify spends what verifying password against a bcrypt hash
// of this cost spends. Verifying against a dummy makes an unknown user, a
// locked account, and a failure on a hash cheaper to check than the
// site's, cost as much as a wrong password on a bcrypt account.
func spendDummyVerify(password string, cost int) {
	// The result is meaningless by construction; only the time matters.
	_ = verifyBcrypt(dummyHashFor(cost), password)
}
