package doctor

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"livechat-auth/config"
)

// checkSocket checks the socket the extauth processes relay to, for this
// user; autoSocket names the automatic daemon's.
func (d *report) checkSocket(cfg config.Config, autoSocket func() (string, error)) {
	switch path := cfg.Extauth.DaemonSocket; path {
	case config.DaemonOff:
		d.say(verdictOK, "extauth decides in each process (extauth.daemon_socket: off): set ejabberd's extauth_pool_size: 1", "")
	case "":
		socket, err := autoSocket()
		if err != nil {
			d.say(verdictFail, "no private folder for the automatic extauth daemon: "+config.OneLine(err),
				"give this user a private runtime folder (systemd RuntimeDirectory=, or a HOME it owns), or set extauth.daemon_socket")
			return
		}
		d.say(verdictOK, "automatic extauth daemon socket: "+socket+" (folder "+modeOf(filepath.Dir(socket))+")", "")
	default:
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			d.say(verdictFail, "extauth.daemon_socket "+path+": "+config.OneLine(err), "start livechat-auth serve with the same extauth.daemon_socket first")
			return
		case fi.Mode().Type() != fs.ModeSocket:
			d.say(verdictFail, "extauth.daemon_socket "+path+" is not a socket", "remove it; serve makes the socket")
			return
		}
		c, err := net.DialTimeout("unix", path, 2*time.Second)
		if err != nil {
			d.say(verdictFail, "extauth.daemon_socket "+path+" ("+modeOf(path)+"): cannot connect: "+config.OneLine(err),
				"serve makes it mode 0660: give the chat server's user the socket's group")
			return
		}
		c.Close()
		d.say(verdictOK, "extauth.daemon_socket "+path+" answers ("+modeOf(path)+")", "")
	}
}

// modeOf describes a file's mode and owner.
func modeOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "unknown mode"
	}
	s := fmt.Sprintf("mode %04o", fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner, group := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		if g, err := user.LookupGroupId(group); err == nil {
			group = g.Name
		}
		s += ", " + owner + ":" + group
	}
	return s
}

// checkExtauth asks isuser about name through the real extauth framing,
// as ejabberd does, of a process deciding alone (so that no daemon is
// started).
func (d *report) checkExtauth(ctx context.Context, c Config, cfg config.Config, name string) {
	if name == "" {
		d.say(verdictWarn, "no isuser check: no migrated account to ask about", "give --user NAME")
		return
	}
	exe, err := c.Program()
	if err != nil {
		d.say(verdictWarn, "no isuser check: "+err.Error(), "")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := []string{"extauth"}
	if c.Path != "" {
		args = append(args, "--config", c.Path)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = slices.Concat(c.Environ, []string{"LIVECHAT_AUTH_EXTAUTH_DAEMON_SOCKET=off", "LIVECHAT_AUTH_LOG_LEVEL=off"})
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		d.say(verdictFail, "cannot start "+exe+" extauth: "+err.Error(), "check the program's path and mode as this user")
		return
	}
	jid := name + "@" + cfg.Domains[0]
	req := "isuser:" + name + ":" + cfg.Domains[0]
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(req)))
	_, werr := in.Write(append(frame, req...))
	var reply [4]byte
	_, rerr := io.ReadFull(out, reply[:])
	in.Close()
	_ = cmd.Wait() // its exit status tells nothing more than the reply
	switch {
	case werr != nil || rerr != nil:
		d.say(verdictFail, "extauth gave no answer to isuser "+jid, "run "+exe+" extauth"+d.configFlag()+" by hand as this user and read its log")
	case binary.BigEndian.Uint16(reply[2:]) == 1:
		d.say(verdictOK, "extauth framing: isuser "+jid+" answered yes", "")
	default:
		d.say(verdictWarn, "extauth framing works, but isuser "+jid+" answered no", "livechat-auth check"+d.configFlag()+" "+jid+" says why")
	}
}
