package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StackEnv names the chat-server stack a run of the integration tests is
// checked against.
const StackEnv = "LIVECHAT_AUTH_TEST_STACK"

// Stacks the tests know. Debian 12's programs are this machine's own
// (ejabberd 23.01, Prosody 0.12, PHP 8.2); Debian 13's (ejabberd 24.12,
// Prosody 13, PHP 8.4, Valkey 8) run from an image that
// scripts/docker-setup.sh makes.
const (
	Debian12 = "debian12"
	Debian13 = "debian13"
)

// Debian13Image is the image of Debian 13's programs.
const Debian13Image = "livechat-auth-test/stack:debian13"

// Stack is where a test's chat server and the programs around it run.
type Stack struct {
	Name  string // Debian12 or Debian13
	Image string // Debian 13's image; empty for this machine's programs
}

// CurrentStack is the stack $LIVECHAT_AUTH_TEST_STACK names: Debian 12
// (this machine) when unset. Any other name stops the run: a misspelt
// stack must not check this machine's programs under another's name.
func CurrentStack() Stack {
	switch name := os.Getenv(StackEnv); name {
	case "", Debian12:
		return Stack{Name: Debian12}
	case Debian13:
		return Stack{Name: Debian13, Image: Debian13Image}
	default:
		panic(fmt.Sprintf("%s=%q: no such stack (%s or %s)", StackEnv, name, Debian12, Debian13))
	}
}

// Containers reports whether the stack's programs run in containers.
func (s Stack) Containers() bool { return s.Image != "" }

// Need applies the harness rule to the stack's programs: name (a program)
// must be on this machine, or the stack's image must exist.
func (s Stack) Need(t testing.TB, name, hint string) {
	t.Helper()
	if !s.Containers() {
		_, err := exec.LookPath(name)
		Need(t, name, err == nil, hint)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "docker", "image", "inspect", s.Image).Run()
	Need(t, s.Image, err == nil, "bash scripts/docker-setup.sh makes it (as root, with a Docker engine)")
}

// Command is exec.Command(name, args...) with env as its whole
// environment (nil: this process's, or the image's in a container), run
// in this process's folder on this machine or, for Debian 13, in a container of
// the stack's image. The container shares this machine's network and
// process namespace, and sees /tmp (test folders, the binary under test)
// and the repository at the same paths, so that ports, pids, files and
// Unix sockets mean the same inside and out: a test does not tell the two
// apart. Signals sent to the command reach the program (docker run
// forwards them); the container is removed when the test ends.
func (s Stack) Command(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	return s.CommandIn(t, "", env, name, args...)
}

// CommandIn is Command run in the folder dir ("": this process's).
func (s Stack) CommandIn(t testing.TB, dir string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	if !s.Containers() {
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, dir
		return cmd
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	container := "livechat-auth-test-" + hex.EncodeToString(b)
	run := []string{"run", "--rm", "--name", container, "--label", fmt.Sprintf("%s=%d", ownerLabel, os.Getpid()),
		"--network", "host", "--pid", "host",
		"-v", "/tmp:/tmp", "-v", repoRoot() + ":" + repoRoot()}
	if dir == "" {
		dir, _ = os.Getwd() // an unknown folder leaves the image's
	}
	if dir != "" {
		run = append(run, "-w", dir)
	}
	for _, kv := range env {
		run = append(run, "-e", kv)
	}
	run = append(run, s.Image, name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = exec.CommandContext(ctx, "docker", "rm", "-f", container).Run() // gone already is fine
	})
	cmd := exec.Command("docker", append(run, args...)...)
	containers.Store(cmd, container)
	return cmd
}

// ownerLabel marks a test's containers with the pid of the test process
// that ran them.
const ownerLabel = "livechat-auth-test.owner"

// containers maps each container command to its container's name.
var containers sync.Map

// Remove removes the container cmd runs, if it is a container command of
// Command: killing the docker client kills nothing in the container.
func Remove(cmd *exec.Cmd) {
	name, ok := containers.Load(cmd)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = exec.CommandContext(ctx, "docker", "rm", "-f", name.(string)).Run() // gone already is fine
}

// RemoveLeftovers removes the containers that test processes no longer
// running left behind (a run killed by its timeout runs no cleanup); those
// of a run still going on are left alone. Without docker it does nothing.
func RemoveLeftovers() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+ownerLabel,
		"--format", `{{.ID}} {{.Label "`+ownerLabel+`"}}`).Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, owner, ok := strings.Cut(line, " ")
		pid, err := strconv.Atoi(owner)
		if !ok || err != nil || syscall.Kill(pid, 0) == nil {
			continue // still running (or not ours to judge)
		}
		_ = exec.CommandContext(ctx, "docker", "rm", "-f", id).Run() // gone already is fine
	}
}

// repoRoot is the repository's folder, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
