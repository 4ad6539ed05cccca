package extauth

import (
	"bytes"
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// FuzzServe feeds arbitrary bytes to the server. Invariants: no panic, and
// stdout holds only whole 4-byte replies, one per complete frame.
func FuzzServe(f *testing.F) {
	f.Add(frame("auth:alice:chat.test:secret"))
	f.Add(frame("isuser:alice:chat.test"))
	f.Add(append(frame("auth:a:b:c:d"), 0xff, 0xff, 0))
	f.Add([]byte{0, 0, 0, 1, ':'})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		srv := newServer(t, hclog.NewNullLogger())
		_ = Serve(context.Background(), bytes.NewReader(in), &out, srv)
		if out.Len()%4 != 0 {
			t.Fatalf("stdout holds %d bytes: not whole replies", out.Len())
		}
		frames := 0
		for rest := in; len(rest) >= 2; frames++ {
			n := int(rest[0])<<8 | int(rest[1])
			if len(rest) < 2+n {
				break
			}
			rest = rest[2+n:]
		}
		if out.Len() != 4*frames {
			t.Fatalf("%d replies for %d frames", out.Len()/4, frames)
		}
		for r := out.Bytes(); len(r) > 0; r = r[4:] {
			if !bytes.Equal(r[:4], replyYes) && !bytes.Equal(r[:4], replyNo) {
				t.Fatalf("bad reply % x", r[:4])
			}
		}
	})
}

// FuzzParseRequest checks that every request that parses encodes back to
// the same body.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("auth:alice:chat.test:p:w"))
	f.Add([]byte("isuser:alice:chat.test"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			return
		}
		b, err := AppendRequest(nil, req)
		if err != nil {
			if len(body) <= 0xffff {
				t.Fatalf("re-encode: %v", err)
			}
			return
		}
		if !bytes.Equal(b[2:], body) {
			t.Fatalf("round trip %q -> %q", body, b[2:])
		}
	})
}
