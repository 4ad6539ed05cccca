package doctor

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"livechat-auth/test/harness"
)

// TestReadableAs: the kernel's answer for another user, through the
// other users' bits, the group and the folders on the way, while the
// process itself stays root.
func TestReadableAs(t *testing.T) {
	harness.Need(t, "root", os.Geteuid() == 0, "run as root to open files as another user")
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, groups, err := credentialsOf(u)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "livechat-auth-readable-") // t.TempDir's parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(dir, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mode os.FileMode
		gid  int
		dir  string
		want bool
	}{
		{"owner only", 0o600, 0, dir, false},
		{"every user", 0o644, 0, dir, true},
		{"its group", 0o640, gid, dir, true},
		{"another group", 0o640, 0, dir, false},
		{"every user, in a closed folder", 0o644, 0, closed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(c.dir, "secret")
			if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(path)
			if err := os.Chown(path, 0, c.gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			got, err := readableAs(path, uid, gid, groups)
			if err != nil || got != c.want {
				t.Errorf("readableAs: %v, %v; want %v", got, err, c.want)
			}
			// This process is still root: it reads what nobody may not.
			if _, err := os.ReadFile(path); err != nil {
				t.Errorf("root cannot read it after the check: %v", err)
			}
		})
	}
	if _, err := readableAs(filepath.Join(dir, "none"), uid, gid, groups); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v; want fs.ErrNotExist", err)
	}
}
