package extauthd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// blockingConn is the relay's end of its daemon connection, read and
// written with plain blocking system calls: the relay serves one request
// at a time, and a thread that sleeps in read(2) until the reply comes
// costs less than parking in Go's network poller and being woken through
// it, twice a request. Timeouts are the socket's own (SO_RCVTIMEO,
// SO_SNDTIMEO); a read that times out fails with os.ErrDeadlineExceeded.
type blockingConn struct {
	f  *os.File
	fd int
}

// newBlockingConn takes c over: c is closed, and its socket is read and
// written through the returned conn.
func newBlockingConn(c net.Conn) (*blockingConn, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("not a Unix socket")
	}
	f, err := uc.File() // a duplicate; closing c leaves it open
	c.Close()
	if err != nil {
		return nil, err
	}
	return &blockingConn{f: f, fd: int(f.Fd())}, nil // Fd puts it in blocking mode
}

// setTimeout bounds each read and write from now on.
func (c *blockingConn) setTimeout(d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	return unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
}

func (c *blockingConn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, fmt.Errorf("read: %w", os.ErrDeadlineExceeded)
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *blockingConn) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(c.fd, p[written:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return written, fmt.Errorf("write: %w", os.ErrDeadlineExceeded)
		case err != nil:
			return written, err
		}
		written += n
	}
	return written, nil
}

func (c *blockingConn) Close() error { return c.f.Close() }
