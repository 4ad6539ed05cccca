package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs runs the doctor as the user c.As (root only), in a clean
// environment unless c.KeepEnv, and then checks, as root, which of
// serve's secrets that user can read (unless it is serve's own user).
func runAs(ctx context.Context, c Config, stdout, stderr io.Writer) int {
	u, err := user.Lookup(c.As)
	if err != nil {
		return failed(stderr, fmt.Errorf("--as %s: %w", c.As, err))
	}
	if os.Geteuid() != 0 {
		return failed(stderr, fmt.Errorf("--as %s: run as root (sudo livechat-auth doctor --as %s …) to check as another user", c.As, c.As))
	}
	if c.Path != "" {
		if abs, err := filepath.Abs(c.Path); err == nil {
			c.Path = abs
		}
	}
	code := startAs(ctx, u, c, stdout, stderr)
	if c.As == ServeUser {
		return code
	}
	// The settings as the checks above read them: a chat server's service
	// starts with no LIVECHAT_AUTH_* variable, unless KeepEnv.
	env := func(string) string { return "" }
	if c.KeepEnv {
		env = c.Getenv
	}
	d := &report{out: stdout}
	d.checkServeSecrets(u, c.Path, c.ServeConfig, env)
	return max(code, int(d.worst))
}

// startAs runs the doctor's checks in a process of user u and returns
// its exit code.
func startAs(ctx context.Context, u *user.User, c Config, stdout, stderr io.Writer) int {
	name := u.Username
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	exe, err := c.Program()
	if err != nil {
		return failed(stderr, err)
	}
	args := []string{"doctor"}
	if c.Path != "" {
		args = append(args, "--config", c.Path)
	}
	if c.Probe != "" {
		args = append(args, "--user", c.Probe)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	// A clean environment, as a chat server's service starts with: this
	// shell's variables are exactly what "works by hand" may lean on.
	cmd.Env = []string{"HOME=" + u.HomeDir, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "USER=" + name, "LOGNAME=" + name}
	if c.KeepEnv {
		cmd.Env = c.Environ
	}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if errors.Is(err, fs.ErrPermission) {
			return failed(stderr, fmt.Errorf("--as %s: %s may not run %s: the program and every folder above it must be readable and searchable by that user", name, name, exe))
		}
		return failed(stderr, fmt.Errorf("--as %s: %w", name, err))
	}
	return int(verdictOK)
}
