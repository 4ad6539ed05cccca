package extauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A relay hands its streams to the daemon: instead of forwarding each
// request over the daemon's socket (one more process to wake per request,
// both ways), it passes the file descriptors of its stdin and stdout to
// the daemon (SCM_RIGHTS), which then reads ejabberd's requests and writes
// its replies itself. The relay process only waits, so that ejabberd sees
// its program alive, and takes its streams back when the daemon stops:
//
//	relay → daemon   the frame handoffRequest, carrying the two descriptors
//	daemon → relay   a "yes" reply: taken (an older daemon answers "no":
//	                 the relay then forwards frames on the same connection)
//	daemon → relay   one byte when it lets go: handoffEnded (the input
//	                 ended: ejabberd closed the pipe) or handoffBack (the
//	                 daemon stops; it stopped between two requests)
//
// A connection that closes without that byte is a daemon that died: the
// relay takes its streams back too. ejabberd sends one request at a time
// and waits for its reply, so between two requests the pipe holds
// nothing: whoever reads next reads a whole request.
const handoffRequest = "livechat-auth-handoff:1"

// Bytes the daemon sends when it lets go of handed-off streams.
const (
	handoffEnded byte = 'E'
	handoffBack  byte = 'B'
)

// Files are the streams a relay may hand to its daemon: the process's
// stdin and stdout, when they are pipes or sockets (a terminal is never
// handed off), as duplicates in non-blocking mode. Non-blocking, because
// a daemon sets that mode on what it is handed (it is shared with the
// relay's descriptors) and may do so late, after the relay gave up on
// it: the relay reads and writes through Go's poller either way.
type Files struct {
	In, Out *os.File
}

// HandoffFiles returns in and out as Files when both are pipes or
// sockets, and nil otherwise. Read and write the Files from then on, not
// in and out.
func HandoffFiles(in, out *os.File) *Files {
	var fds [2]int
	for i, f := range []*os.File{in, out} {
		if f == nil {
			return nil
		}
		orig, err := rawFD(f)
		if err != nil || !pipeOrSocket(orig) {
			return nil
		}
		fd, err := unix.FcntlInt(uintptr(orig), unix.F_DUPFD_CLOEXEC, 3)
		if err == nil {
			if err = unix.SetNonblock(fd, true); err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			if i == 1 {
				unix.Close(fds[0])
			}
			return nil
		}
		fds[i] = fd
	}
	return &Files{In: os.NewFile(uintptr(fds[0]), in.Name()), Out: os.NewFile(uintptr(fds[1]), out.Name())}
}

func pipeOrSocket(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	t := st.Mode & unix.S_IFMT
	return t == unix.S_IFIFO || t == unix.S_IFSOCK
}

// handoffOutcome is how a handoff attempt ended, seen from the relay.
type handoffOutcome int

const (
	handoffDeclined   handoffOutcome = iota // not handed: no daemon, or one that forwards frames only
	handoffInputEnded                       // the daemon served until the input ended
	handoffReturned                         // the daemon let go (stopped, or died): serve here again
)

// sendHandoff offers f to the daemon on conn and reports whether it took
// them.
func sendHandoff(conn *net.UnixConn, f *Files, timeout time.Duration) (taken bool, err error) {
	msg := append([]byte{0, byte(len(handoffRequest))}, handoffRequest...)
	in, err := rawFD(f.In)
	if err != nil {
		return false, err
	}
	out, err := rawFD(f.Out)
	if err != nil {
		return false, err
	}
	rights := unix.UnixRights(in, out)
	_ = conn.SetDeadline(time.Now().Add(timeout)) // a failed deadline shows up as a failed read
	defer conn.SetDeadline(time.Time{})
	if _, _, err := conn.WriteMsgUnix(msg, rights, nil); err != nil {
		return false, err
	}
	return ReadReply(conn)
}

// rawFD returns f's descriptor without putting it in blocking mode, as
// (*os.File).Fd would. The descriptor stays f's: it is valid while f is
// open.
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil {
		return 0, err
	}
	return fd, nil
}

// watchHangup waits, without reading, until the writer of f's pipe has
// closed it (poll reports POLLHUP), and then closes hungUp and calls
// onHangup; it returns without doing either once stop is closed.
func watchHangup(f *os.File, stop <-chan struct{}, hungUp chan<- struct{}, onHangup func()) {
	fd, err := rawFD(f)
	if err != nil {
		return
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(fd)}} // no events: only hang-ups and errors are reported
		n, err := unix.Poll(fds, 500)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			select {
			case <-stop:
				return
			default:
			}
			close(hungUp)
			onHangup()
			return
		}
	}
}

// awaitRelease waits until the daemon lets go of handed-off streams and
// says how: true when the input ended, false when the relay must serve
// again. ctx ending closes conn, which the daemon takes as the relay
// going away.
func awaitRelease(ctx context.Context, conn net.Conn) (inputEnded bool, err error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return false, err
	}
	switch b[0] {
	case handoffEnded:
		return true, nil
	case handoffBack:
		return false, nil
	}
	return false, fmt.Errorf("daemon sent %q after a handoff", b[0])
}

// receiveHandoff reads a relay's first message on conn. When it is a
// handoff carrying two pipe or socket descriptors, it returns them as
// files (non-blocking, so that their reads can be stopped); otherwise it
// returns the bytes read, the start of a stream of request frames, and
// closes any descriptor that came with them.
func receiveHandoff(conn *net.UnixConn) (in, out *os.File, first []byte, err error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(2*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, nil, err
	}
	var fds []int
	if oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, m := range msgs {
				if got, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	want := 2 + len(handoffRequest)
	if n == want && string(buf[2:n]) == handoffRequest && len(fds) == 2 && flags&unix.MSG_CTRUNC == 0 &&
		pipeOrSocket(fds[0]) && pipeOrSocket(fds[1]) {
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			if err := unix.SetNonblock(fd, true); err != nil {
				closeAll(fds)
				return nil, nil, nil, fmt.Errorf("handoff: %w", err)
			}
		}
		return os.NewFile(uintptr(fds[0]), "relay-stdin"), os.NewFile(uintptr(fds[1]), "relay-stdout"), nil, nil
	}
	closeAll(fds)
	if n == want && string(buf[2:n]) == handoffRequest {
		return nil, nil, nil, errors.New("handoff without two pipe or socket descriptors")
	}
	return nil, nil, buf[:n], nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// serveHandedOff answers the requests of a relay's handed-off streams
// until the input ends, the relay goes away, or ctx ends, and then tells
// the relay (still on conn) how it let go.
func (s *Server) serveHandedOff(ctx context.Context, conn net.Conn, in, out *os.File) {
	defer in.Close()
	defer out.Close()
	if err := WriteReply(conn, true); err != nil {
		return
	}
	s.log.Info("answering ejabberd's pipes for the relay")
	// Stop reading when ctx ends or the relay goes away: a read deadline
	// in the past ends a wait for the next request at once.
	stopNow := func() { _ = in.SetReadDeadline(time.Unix(1, 0)) }
	defer context.AfterFunc(ctx, stopNow)()
	relayGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // the relay sends nothing more; this ends when it closes
		close(relayGone)
		stopNow()
	}()
	// The loop ends only at the input's end or a stopped read (never at
	// ctx alone, which would read as the input's end); ctx bounds each
	// decision.
	err := serveRaw(context.WithoutCancel(ctx), in, out, func(frame []byte) bool { return s.answerFrame(ctx, frame) })
	select {
	case <-relayGone:
		s.log.Debug("relay went away; handed-off streams closed")
		return
	default:
	}
	var msg byte
	switch {
	case err == nil:
		msg = handoffEnded
	case errors.Is(err, errStoppedBetween):
		msg = handoffBack
		s.log.Info("handing the streams back to the relay")
	default:
		// Stopped inside a request, or the reply could not be written:
		// closing without a word hands the streams back as after a crash.
		s.log.Warn("handed-off streams failed", "error", err)
		return
	}
	_, _ = conn.Write([]byte{msg}) // a relay that cannot read it is gone already
}
