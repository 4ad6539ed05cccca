package app

import (
	"strings"
	"testing"
)

// TestVersionLine: the version names the program and the Go release, and
// the VCS revision when the build recorded one.
func TestVersionLine(t *testing.T) {
	b := ReadBuild()
	line := b.Line()
	if !strings.HasPrefix(line, "livechat-auth "+b.Version) || !strings.HasSuffix(line, b.GoVersion) {
		t.Errorf("version line %q", line)
	}
	if b.Revision != "" && !strings.Contains(line, b.Revision) {
		t.Errorf("version line %q lacks the revision %s", line, b.Revision)
	}
}
