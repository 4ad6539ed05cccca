package extauthd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPrivateDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := mk("good", 0o700)
	if err := CheckPrivateDir(good, os.Getuid()); err != nil {
		t.Errorf("a 0700 folder of ours refused: %v", err)
	}
	if err := CheckPrivateDir(mk("open", 0o755), os.Getuid()); err != nil {
		t.Errorf("a 0755 folder of ours refused: %v", err)
	}
	for _, bad := range []struct{ name, dir, want string }{
		{"world-writable", mk("world", 0o777), "group or others"},
		{"group-writable", mk("group", 0o770), "group or others"},
		{"sticky /tmp-like", mk("sticky", os.ModeSticky|0o777), "group or others"},
		{"symbolic link", symlink(t, good, filepath.Join(base, "link")), "not a folder"},
		{"missing", filepath.Join(base, "none"), "no such file"},
	} {
		if err := CheckPrivateDir(bad.dir, os.Getuid()); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want an error saying %q", bad.name, err, bad.want)
		}
	}
	if err := CheckPrivateDir(good, os.Getuid()+1); err == nil || !strings.Contains(err.Error(), "owned by uid") {
		t.Errorf("a folder of another user: got %v", err)
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// TestPrivateDirFromRuntimeDirectory: systemd's folder is used when set,
// and refused when unsafe; otherwise a folder is made with mode 0700.
func TestPrivateDirFromRuntimeDirectory(t *testing.T) {
	rd := t.TempDir()
	env := map[string]string{"RUNTIME_DIRECTORY": rd + ":/other"}
	getenv := func(k string) string { return env[k] }
	if d, err := PrivateDir(getenv, os.Getuid()); err != nil || d != rd {
		t.Errorf("PrivateDir = %q, %v; want %q", d, err, rd)
	}
	if err := os.Chmod(rd, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := PrivateDir(getenv, os.Getuid()); err == nil {
		t.Error("a world-writable RUNTIME_DIRECTORY was accepted")
	}
	if os.Getuid() == 0 {
		return // root may make /run/livechat-auth-0; leave the real /run alone
	}
	tmp := t.TempDir()
	env = map[string]string{"TMPDIR": tmp}
	d, err := PrivateDir(getenv, os.Getuid())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("made %s with %v, %v; want mode 0700", d, fi.Mode(), err)
	}
}

// TestPrivateDirPassesOverASquattedFolder: a folder someone else could
// write (made first by another local user, say) is passed over for the
// next place, never used.
func TestPrivateDirPassesOverASquattedFolder(t *testing.T) {
	base := t.TempDir()
	squatted := filepath.Join(base, "squatted")
	if err := os.Mkdir(squatted, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(squatted, 0o777); err != nil { // as if another user had made it open
		t.Fatal(err)
	}
	next := filepath.Join(base, "next")
	d, err := firstPrivateDir([]string{squatted, next}, os.Getuid())
	if err != nil || d != next {
		t.Fatalf("firstPrivateDir = %q, %v; want %q", d, err, next)
	}
	if _, err := firstPrivateDir([]string{squatted}, os.Getuid()); err == nil {
		t.Fatal("a squatted folder was used when no other place was left")
	}
}

// TestDaemonSocketFindsTheRunningDaemon: a daemon answering in a later
// place is used rather than the first safe place, so that a pool whose
// first usable place changed meanwhile still shares one daemon.
func TestDaemonSocketFindsTheRunningDaemon(t *testing.T) {
	base := t.TempDir()
	first, second := filepath.Join(base, "first"), filepath.Join(base, "second")
	for _, d := range []string{first, second} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	places := []string{first, second}
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(first, "d.sock") {
		t.Fatalf("with no daemon: %q, %v; want the first place", p, err)
	}
	stop := startDaemon(t, filepath.Join(second, "d.sock"))
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(second, "d.sock") {
		t.Fatalf("with a daemon in the second place: %q, %v; want it", p, err)
	}
	// The daemon is gone (an upgrade, a crash) but left its pid file, and
	// the journal beside it: its successor starts in the same place.
	stop()
	os.Remove(filepath.Join(second, "d.sock"))
	if err := os.WriteFile(PIDFile(filepath.Join(second, "d.sock")), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := socketIn(places, os.Getuid(), "d.sock"); err != nil || p != filepath.Join(second, "d.sock") {
		t.Fatalf("after the daemon of the second place stopped: %q, %v; want the same place", p, err)
	}
}
