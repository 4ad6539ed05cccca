package providertest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// collationTable is utf8mb4_unicode_ci's primary weights for every
// character of the Basic Multilingual Plane, as MariaDB's WEIGHT_STRING
// gives them: for each code point from U+0000 to U+FFFF in turn, a count
// byte and as many big-endian 16-bit weights (none for a character the
// collation ignores), gzipped. test.TestCollationTable compares it with
// the running MariaDB and rewrites it with LIVECHAT_AUTH_UPDATE_COLLATION=1.
//
//go:embed collation.bin.gz
var collationTable []byte

// CollationFile is where collationTable lives, from the module root.
const CollationFile = "provider/providertest/collation.bin.gz"

var weights = sync.OnceValue(func() [][]byte {
	out, err := DecodeCollation(collationTable)
	if err != nil {
		panic(err)
	}
	return out
})

// DecodeCollation reads a table in collationTable's format.
func DecodeCollation(gz []byte) ([][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0x10000)
	for r := range out {
		if len(raw) == 0 {
			return nil, fmt.Errorf("collation table: ends at U+%04X", r)
		}
		n := 2 * int(raw[0])
		if len(raw) < 1+n {
			return nil, fmt.Errorf("collation table: U+%04X cut short", r)
		}
		out[r], raw = raw[1:1+n:1+n], raw[1+n:]
	}
	return out, nil
}

// EncodeCollation writes weights (one entry per BMP code point, each a
// whole number of 16-bit weights) in collationTable's format.
func EncodeCollation(w [][]byte) ([]byte, error) {
	var raw bytes.Buffer
	for r, ws := range w {
		if len(ws)%2 != 0 || len(ws)/2 > 255 {
			return nil, fmt.Errorf("U+%04X: %d bytes of weights", r, len(ws))
		}
		raw.WriteByte(byte(len(ws) / 2))
		raw.Write(ws)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// spaceWeight is the primary weight of U+0020.
const spaceWeight = 0x0209

// Collate returns the key under which utf8mb4_unicode_ci (MariaDB's UCA
// 4.0.0 at primary strength, PAD SPACE) compares s: the primary weights
// of its characters from MariaDB's own table (collationTable), with the
// trailing space weights dropped, as PAD SPACE pads the shorter of two
// strings with spaces. Characters outside the Basic Multilingual Plane
// all have the one weight 0xFFFD, as in the collation; bytes that are not
// UTF-8 weigh as U+FFFD. Names equal under it are equal in the database; RunResolve
// checks that for every name it asks.
func Collate(s string) string {
	w := weights()
	key := make([]byte, 0, 2*len(s))
	for _, r := range s {
		if r > 0xFFFF {
			key = append(key, 0xFF, 0xFD)
			continue
		}
		key = append(key, w[r]...) // bytes not UTF-8 weigh as U+FFFD
	}
	for len(key) >= 2 && binary.BigEndian.Uint16(key[len(key)-2:]) == spaceWeight {
		key = key[:len(key)-2]
	}
	return string(key)
}
