package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exposure is a secret or key file every user of the machine may read.
type Exposure struct {
	// Problem names the setting, the file and its mode.
	Problem string
	// Fix is the command that makes the file private without locking the
	// process that reads it out.
	Fix string
}

// String is the warning serve and extauth log: the problem, then the fix.
func (e Exposure) String() string { return e.Problem + ": " + e.Fix }

// ExposedFiles lists the secret and key files every user of the machine
// may read, each with its key and mode, and the config file at path ("":
// none) when it holds a secret. Group read is left alone: that is how the
// chat server's user is given them.
func (c Config) ExposedFiles(path string) []Exposure {
	files := c.SecretFiles()
	if path != "" && c.HoldsInlineSecret() {
		files = append(files, SecretFile{"the config file (it holds a secret)", path})
	}
	self := currentReader()
	var out []Exposure
	for _, f := range files {
		if fi, err := os.Stat(f.Path); err == nil && fi.Mode().Perm()&0o004 != 0 {
			out = append(out, exposure(f.Key, f.Path, fi, self))
		}
	}
	return out
}

// StrictConfigFile is Validate's strict rule for the config file at path,
// which Validate does not know: an error when strict is on and the file
// holds a secret every user may read.
func (c Config) StrictConfigFile(path string) error {
	if !c.Strict || path == "" || !c.HoldsInlineSecret() {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
		return errors.New(exposure("the config file (it holds a secret)", path, fi, currentReader()).String() + " (strict: true refuses it)")
	}
	return nil
}

// exposure says that the file at path, which key names, is readable by
// every user, and how to take that away while r keeps reading it. "chmod
// o=" (nothing for every user: a 0666 file loses its write bit too) does
// when r reads the file as its owner or through the file's group. When r reads it only as one of every user (a container's user,
// such as serve's 65532, reading a file mounted from the host), chmod
// alone would lock it out: the file is given r's group first, readable and
// no more by that group (g=r: a checkout's 0664 must not become writable
// by it). Root reads any file, so it cannot tell who else must: its fix
// names that step. Nothing can be changed on a read-only mount: the fix is
// then for the file mounted there.
func exposure(key, path string, fi os.FileInfo, r reader) Exposure {
	e := Exposure{
		Problem: fmt.Sprintf("%s: %s is readable by every user (mode %04o)", key, path, fi.Mode().Perm()),
		Fix:     "chmod o= " + path,
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case ok && r.readsAsOther(st.Uid, st.Gid):
		e.Problem += fmt.Sprintf(" and uid %d reads it only as one of them", r.uid)
		e.Fix = fmt.Sprintf("chgrp %d %s && chmod g=r,o= %s", r.gid, path, path)
	case r.uid == 0:
		e.Fix = "give it to the user that reads it (its owner, or its group), then chmod o= " + path
	}
	if readOnly(path) {
		e.Fix += ", on the file mounted there (a read-only mount here)"
	}
	return e
}

// readOnly reports whether the file at path is on a read-only mount, such
// as a container's file mounted ":ro" from the host.
func readOnly(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// reader is who a process reads files as: its effective user and group,
// and its supplementary groups (nil when they could not be read).
type reader struct {
	uid, gid int
	groups   []int
}

func currentReader() reader {
	groups, err := os.Getgroups()
	if err != nil {
		groups = nil
	}
	return reader{uid: os.Geteuid(), gid: os.Getegid(), groups: groups}
}

// readsAsOther reports whether r may read a file owned by uid and gid only
// through the permission bits every user has: r is not root, not the
// owner and not in the group.
func (r reader) readsAsOther(uid, gid uint32) bool {
	if r.uid == 0 || r.uid == int(uid) || r.gid == int(gid) {
		return false
	}
	return !slices.Contains(r.groups, int(gid))
}
