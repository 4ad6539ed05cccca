package extauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func frame(body string) []byte {
	b := []byte{byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Request
		err  error
	}{
		{"auth", "auth:alice:chat.test:secret", Request{"auth", "alice", "chat.test", "secret"}, nil},
		{"password with colons", "auth:alice:chat.test:a:b::c:", Request{"auth", "alice", "chat.test", "a:b::c:"}, nil},
		{"unicode password", "auth:zoë:chat.test:pässwörd€😀", Request{"auth", "zoë", "chat.test", "pässwörd€😀"}, nil},
		{"empty password", "auth:alice:chat.test:", Request{"auth", "alice", "chat.test", ""}, nil},
		{"isuser", "isuser:alice:chat.test", Request{"isuser", "alice", "chat.test", ""}, nil},
		{"setpass", "setpass:alice:chat.test:new", Request{"setpass", "alice", "chat.test", "new"}, nil},
		{"tryregister", "tryregister:x:chat.test:pw", Request{"tryregister", "x", "chat.test", "pw"}, nil},
		{"removeuser", "removeuser:x:chat.test", Request{"removeuser", "x", "chat.test", ""}, nil},
		{"removeuser3", "removeuser3:x:chat.test:pw", Request{"removeuser3", "x", "chat.test", "pw"}, nil},
		{"empty", "", Request{}, ErrMalformed},
		{"unknown command", "login:alice:chat.test:pw", Request{}, ErrMalformed},
		{"auth without password", "auth:alice:chat.test", Request{}, ErrMalformed},
		{"isuser with extra field", "isuser:alice:chat.test:x", Request{}, ErrMalformed},
		{"no fields", "auth", Request{}, ErrMalformed},
		{"invalid UTF-8", "auth:alice:chat.test:\xff\xfe", Request{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tt.body))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadRequestStream(t *testing.T) {
	var in []byte
	in = append(in, frame("auth:a:chat.test:1")...)
	in = append(in, frame("isuser:b:chat.test")...)
	r := bytes.NewReader(in)
	for _, want := range []string{"a", "b"} {
		req, err := ReadRequest(r)
		if err != nil || req.User != want {
			t.Fatalf("ReadRequest = %+v, %v; want user %s", req, err, want)
		}
	}
	if _, err := ReadRequest(r); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestReadRequestTruncated(t *testing.T) {
	tests := map[string][]byte{
		"half a length": {0},
		"short body":    frame("auth:alice:chat.test:secret")[:10],
		"length only":   {0, 200},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRequest(bytes.NewReader(in))
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestReadRequestMaxLength(t *testing.T) {
	body := "auth:alice:chat.test:" + strings.Repeat("p", 0xffff-len("auth:alice:chat.test:"))
	req, err := ReadRequest(bytes.NewReader(frame(body)))
	if err != nil || len(req.Password) != 0xffff-21 {
		t.Fatalf("65535-byte frame: %v", err)
	}
}

func TestAppendRequestRoundTrip(t *testing.T) {
	in := Request{CmdAuth, "zoë", "chat.test", "p:w"}
	b, err := AppendRequest(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadRequest(bytes.NewReader(b))
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if _, err := AppendRequest(nil, Request{CmdAuth, "a", "b", strings.Repeat("x", 0x10000)}); err == nil {
		t.Fatal("oversized request encoded")
	}
}

func ExampleReadRequest() {
	in := bytes.NewReader([]byte("\x00\x1bauth:alice:chat.test:s:cret"))
	req, err := ReadRequest(in)
	fmt.Println(req.Command, req.User, req.Server, req.Password, err)
	var out bytes.Buffer
	_ = WriteReply(&out, true)
	fmt.Printf("% x\n", out.Bytes())
	// Output:
	// auth alice chat.test s:cret <nil>
	// 00 02 00 01
}
