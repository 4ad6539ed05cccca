package extauth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Commands ejabberd sends.
const (
	CmdAuth        = "auth"
	CmdIsUser      = "isuser"
	CmdSetPass     = "setpass"
	CmdTryRegister = "tryregister"
	CmdRemoveUser  = "removeuser"
	CmdRemoveUser3 = "removeuser3"
)

// fieldCount is the number of ':'-separated fields each command carries.
var fieldCount = map[string]int{
	CmdAuth:        4,
	CmdIsUser:      3,
	CmdSetPass:     4,
	CmdTryRegister: 4,
	CmdRemoveUser:  3,
	CmdRemoveUser3: 4,
}

// ErrMalformed reports a request frame that was read whole but cannot be
// understood. The stream is still in step: the caller answers "no" and
// reads the next request.
var ErrMalformed = errors.New("malformed extauth request")

// Request is one decoded extauth request. Password is empty for commands
// that carry none. A Request must never be logged whole.
type Request struct {
	Command  string
	User     string
	Server   string
	Password string
}

// Replies, exactly as ejabberd expects them.
var (
	replyYes = []byte{0, 2, 0, 1}
	replyNo  = []byte{0, 2, 0, 0}
)

// ReadRequest reads one framed request from r. It returns io.EOF when r
// ends cleanly between frames, io.ErrUnexpectedEOF when it ends inside
// one, and an error wrapping ErrMalformed when a whole frame was read but
// is not a request.
func ReadRequest(r io.Reader) (Request, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return Request{}, err
	}
	body := make([]byte, binary.BigEndian.Uint16(head[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Request{}, err
	}
	return ParseRequest(body)
}

// readFrame appends one whole frame, its 2-byte length included, to buf.
// It returns io.EOF when r ends cleanly between frames and
// io.ErrUnexpectedEOF when it ends inside one.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint16(head[:]))
	buf = append(buf, head[:]...)
	buf = slices.Grow(buf, n)[:2+n]
	if _, err := io.ReadFull(r, buf[2:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}

// ParseRequest decodes a frame's body.
func ParseRequest(body []byte) (Request, error) {
	if len(body) == 0 {
		return Request{}, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	if !utf8.Valid(body) {
		return Request{}, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	fields := strings.SplitN(string(body), ":", 4)
	want, known := fieldCount[fields[0]]
	if !known {
		return Request{}, fmt.Errorf("%w: unknown command", ErrMalformed)
	}
	if len(fields) != want {
		return Request{}, fmt.Errorf("%w: %s needs %d fields, got %d", ErrMalformed, fields[0], want, len(fields))
	}
	req := Request{Command: fields[0], User: fields[1], Server: fields[2]}
	if want == 4 {
		req.Password = fields[3]
	}
	return req, nil
}

// AppendRequest appends req's frame to b: the inverse of ReadRequest, for
// clients and tests. It fails when the body would exceed 65535 bytes.
func AppendRequest(b []byte, req Request) ([]byte, error) {
	body := req.Command + ":" + req.User + ":" + req.Server
	if fieldCount[req.Command] == 4 {
		body += ":" + req.Password
	}
	if len(body) > 0xffff {
		return b, fmt.Errorf("extauth request of %d bytes is over 65535", len(body))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...), nil
}

// WriteReply writes the 4-byte answer.
func WriteReply(w io.Writer, yes bool) error {
	reply := replyNo
	if yes {
		reply = replyYes
	}
	_, err := w.Write(reply)
	return err
}

// ReadReply reads a 4-byte answer, for clients and tests.
func ReadReply(r io.Reader) (yes bool, err error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return false, err
	}
	switch {
	case string(b[:]) == string(replyYes):
		return true, nil
	case string(b[:]) == string(replyNo):
		return false, nil
	}
	return false, fmt.Errorf("%w: bad reply % x", ErrMalformed, b)
}
