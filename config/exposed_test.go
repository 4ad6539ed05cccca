package config

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestExposureFix: the fix for a file every user may read keeps its
// reader reading it. chmod o= is enough for its owner and its group; a
// reader that is none of them (a container's user reading a file mounted
// from the host) is given the file's group first; root, which reads any
// file, is told to give the file to its reader first.
func TestExposureFix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("session: {key: a secret of enough bytes}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 { // an owner other than root, whose fix differs
		if err := os.Chown(path, 4242, 4243); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	owner, group := int(st.Uid), int(st.Gid)
	stranger := 65532
	if owner == stranger || group == stranger {
		stranger = 65533
	}
	for _, c := range []struct {
		name    string
		r       reader
		fix     string
		problem string
	}{
		{"owner", reader{uid: owner, gid: stranger}, "chmod o= " + path, ""},
		{"group", reader{uid: stranger, gid: group}, "chmod o= " + path, ""},
		{"supplementary group", reader{uid: stranger, gid: stranger, groups: []int{group}}, "chmod o= " + path, ""},
		{"root", reader{uid: 0, gid: stranger}, "give it to the user that reads it (its owner, or its group), then chmod o= " + path, ""},
		{"every user only", reader{uid: stranger, gid: stranger, groups: []int{stranger + 1}},
			"chgrp " + strconv.Itoa(stranger) + " " + path + " && chmod g=r,o= " + path,
			" and uid " + strconv.Itoa(stranger) + " reads it only as one of them"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := exposure("the config file", path, fi, c.r)
			if e.Fix != c.fix {
				t.Errorf("Fix = %q, want %q", e.Fix, c.fix)
			}
			if want := "the config file: " + path + " is readable by every user (mode 0644)" + c.problem; e.Problem != want {
				t.Errorf("Problem = %q, want %q", e.Problem, want)
			}
			if e.String() != e.Problem+": "+e.Fix {
				t.Errorf("String = %q", e.String())
			}
		})
	}
}
