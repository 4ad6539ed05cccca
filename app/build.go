package app

import (
	"runtime"
	"runtime/debug"
)

// Version is the release, set at build time with
// -ldflags "-X livechat-auth/app.Version=…"; otherwise the module's
// version, else "dev". Every place that shows a version reads ReadBuild.
var Version = "dev"

// Build is what the program knows of its own build.
type Build struct {
	Version   string // Version, else the module's version
	Revision  string // the VCS revision, "-dirty" when built from changed files; "" unknown
	Time      string // the revision's time
	GoVersion string
}

// ReadBuild reads the build's version, revision and Go release.
func ReadBuild() Build {
	b := Build{Version: Version, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
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
