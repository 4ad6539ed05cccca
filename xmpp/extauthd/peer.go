package extauthd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// PeerCredentials returns the user and process id of the other end of a
// Unix socket connection, as the kernel reports them.
func PeerCredentials(c net.Conn) (uid, pid int, err error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, 0, errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if credErr != nil {
		return 0, 0, fmt.Errorf("peer credentials: %w", credErr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// TrustedPeer accepts a daemon run by root, by this process's user, or by
// the owner of the socket's folder: anyone else who managed to bind the
// path (say, in a world-writable folder while serve was down) could
// otherwise answer "yes" to every sign-in.
func TrustedPeer(c net.Conn, path string) error {
	uid, _, err := PeerCredentials(c)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if uid == 0 || uid == os.Getuid() {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Dir(path), &st); err == nil && int(st.Uid) == uid && st.Uid != 0 {
		return nil
	}
	return fmt.Errorf("daemon runs as uid %d, which owns neither this process nor the socket's folder: not trusted", uid)
}
