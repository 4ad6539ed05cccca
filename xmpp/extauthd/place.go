package extauthd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// PrivateDir returns the folder where the automatic daemon of user uid
// keeps its socket, lock and log: $RUNTIME_DIRECTORY when set (systemd),
// else the first of PrivatePlaces that exists or can be made and is
// safe. A folder it makes has mode 0700. A folder that is not a real
// folder owned by uid and closed to group and others (someone else could
// then answer for the daemon or read its socket) is passed over: a local
// user who made /tmp/livechat-auth-<uid> first cannot make the pool
// decide alone. It returns an error when no place is left.
func PrivateDir(getenv func(string) string, uid int) (string, error) {
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		d, _, _ = strings.Cut(d, ":") // systemd lists several folders with ':'
		return d, CheckPrivateDir(d, uid)
	}
	return firstPrivateDir(PrivatePlaces(getenv, uid), uid)
}

// PrivatePlaces lists, in order, where the automatic daemon of user uid
// may keep its folder when $RUNTIME_DIRECTORY is not set:
// /run/livechat-auth-<uid>, $TMPDIR (or /tmp)/livechat-auth-<uid>, and
// $HOME/.livechat-auth when $HOME is a folder of uid.
func PrivatePlaces(getenv func(string) string, uid int) []string {
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	name := "livechat-auth-" + strconv.Itoa(uid)
	places := []string{filepath.Join("/run", name), filepath.Join(tmp, name)}
	if home := getenv("HOME"); home != "" && filepath.IsAbs(home) && CheckOwnedDir(home, uid) == nil {
		places = append(places, filepath.Join(home, ".livechat-auth"))
	}
	return places
}

// DaemonSocket returns the path of the automatic daemon's socket called
// name: in the first of the private places where a trusted daemon
// already answers on it, else where one ran before, else in PrivateDir. So every process of a pool
// finds the daemon the others use, even after the first usable place
// changed (a folder made or removed since that daemon started).
func DaemonSocket(getenv func(string) string, uid int, name string) (string, error) {
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		d, _, _ = strings.Cut(d, ":") // systemd lists several folders with ':'
		return filepath.Join(d, name), CheckPrivateDir(d, uid)
	}
	return socketIn(PrivatePlaces(getenv, uid), uid, name)
}

// socketIn is DaemonSocket over a list of places: the first where a
// daemon answers on name, else the first where one ran before (its pid
// file is left, and beside it the journal of used tokens the next daemon
// must read), else the first safe place.
func socketIn(places []string, uid int, name string) (string, error) {
	for _, d := range places {
		if CheckPrivateDir(d, uid) != nil {
			continue
		}
		if p := filepath.Join(d, name); answers(context.Background(), p) {
			return p, nil
		}
	}
	for _, d := range places {
		if CheckPrivateDir(d, uid) != nil {
			continue
		}
		p := filepath.Join(d, name)
		if _, err := os.Lstat(PIDFile(p)); err == nil {
			return p, nil
		}
	}
	dir, err := firstPrivateDir(places, uid)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// firstPrivateDir returns the first of places that exists or can be made
// and passes CheckPrivateDir.
func firstPrivateDir(places []string, uid int) (string, error) {
	var errs []error
	for _, d := range places {
		err := os.Mkdir(d, 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			errs = append(errs, err) // no right to make it here: try the next place
			continue
		}
		if err := CheckPrivateDir(d, uid); err != nil {
			errs = append(errs, err)
			continue
		}
		return d, nil
	}
	return "", fmt.Errorf("no private folder for the extauth daemon: %w", errors.Join(errs...))
}

// CheckOwnedDir returns an error unless dir is a folder owned by uid.
func CheckOwnedDir(dir string, uid int) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != uid {
		return fmt.Errorf("%s is not a folder of uid %d", dir, uid)
	}
	return nil
}

// CheckPrivateDir returns an error unless dir is a folder (not a
// symbolic link) owned by uid that neither group nor others may write.
func CheckPrivateDir(dir string, uid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("private folder %s: %w", dir, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("private folder %s is not a folder", dir)
	case int(st.Uid) != uid:
		return fmt.Errorf("private folder %s is owned by uid %d, not by this user (uid %d)", dir, st.Uid, uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("private folder %s may be written by group or others (mode %04o)", dir, st.Mode&0o7777)
	}
	return nil
}

// ControlSocket is the path of a daemon's control socket, beside its
// relay socket.
func ControlSocket(relaySocket string) string {
	return strings.TrimSuffix(relaySocket, ".sock") + ".control.sock"
}

// PIDFile is the file a daemon holds locked while it runs, holding its
// process id, beside its relay socket.
func PIDFile(relaySocket string) string { return strings.TrimSuffix(relaySocket, ".sock") + ".pid" }

// StartLock is the file a relay locks while it starts a daemon, so that
// the processes of one pool start one daemon between them.
func StartLock(relaySocket string) string { return strings.TrimSuffix(relaySocket, ".sock") + ".lock" }
