package app

import (
	_ "embed"
	"runtime"
	"runtime/debug"
	"strings"
)

// release is the release this source is (the file VERSION beside this
// one), so that every build of it, with VCS stamping or without (a
// container build has no .git), says the same version.
//
//go:embed VERSION
var release string

// Version overrides the release when set at build time, with
// -ldflags "-X livechat-auth/app.Version=…" (a packager's own name for
// it). Every place that shows a version reads ReadBuild.
var Version string

// Build is what the program knows of its own build.
type Build struct {
	Version   string // Version, else the release (VERSION)
	Revision  string // the VCS revision, "-dirty" when built from changed files; "" unknown
	Time      string // the revision's time
	GoVersion string
}

// ReadBuild reads the build's version, revision and Go release.
func ReadBuild() Build {
	b := Build{Version: Version, GoVersion: runtime.Version()}
	if b.Version == "" {
		b.Version = strings.TrimSpace(release)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.Revision != "" && dirty {
		b.Revision += "-dirty"
	}
	return b
}

// Line is what "livechat-auth version" prints.
func (b Build) Line() string {
	line := "livechat-auth " + b.Version
	if b.Revision != "" {
		line += " " + b.Revision
		if b.Time != "" {
			line += " (" + b.Time + ")"
		}
	}
	return line + " " + b.GoVersion
}
