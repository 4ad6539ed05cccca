package main

import (
	"runtime"
	"runtime/debug"
)

// build is what the program knows of its own build.
type build struct {
	version   string // -ldflags -X main.version, else the module's version
	revision  string // the VCS revision, "-dirty" when built from changed files; "" unknown
	time      string // the revision's time
	goVersion string
}

func readBuild() build {
	b := build{version: version, goVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.version = info.Main.Version
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.revision != "" && dirty {
		b.revision += "-dirty"
	}
	return b
}

// versionLine is what "livechat-auth version" prints.
func versionLine() string {
	b := readBuild()
	line := "livechat-auth " + b.version
	if b.revision != "" {
		line += " " + b.revision
		if b.time != "" {
			line += " (" + b.time + ")"
		}
	}
	return line + " " + b.goVersion
}
