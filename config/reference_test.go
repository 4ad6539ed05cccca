package config_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"livechat-auth/config/internal/reference"
)

const (
	referencePage = "../docs/configuration.md"
	examplePath   = "../config.example.yaml"
)

// TestReference regenerates docs/configuration.md in memory from the
// settings and fails when the committed page differs.
func TestReference(t *testing.T) {
	want, err := reference.Page(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(referencePage)
	if err != nil {
		t.Fatalf("%v: run %s", err, reference.Command)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/configuration.md is stale: run %s\n%s", reference.Command, firstDifference(got, want))
	}
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		line := func(lines []string) string {
			if i < len(lines) {
				return fmt.Sprintf("%q", lines[i])
			}
			return "(end of file)"
		}
		if line(g) != line(w) {
			return fmt.Sprintf("line %d:\n  committed: %s\n  generated: %s", i+1, line(g), line(w))
		}
	}
	return "(the same lines)"
}

// exampleKey is a key config.example.yaml sets or shows commented out.
type exampleKey struct {
	key  string // dotted
	line int
}

// keyLine is a line that sets a key, or shows one commented out:
// "  max_skew: 5m", "  # bosh_url: https://…". The key's depth is the
// indentation before it, counting the spaces after a "# " beyond the first.
var keyLine = regexp.MustCompile(`^( *)(?:# ?)?( *)([a-z_]+):(?:\s|$)`)

// readExampleKeys returns the keys of the example's top two levels, the
// areas and their settings; deeper lines are the values of file-only
// settings (rooms.settings) and are left to Load.
func readExampleKeys(t *testing.T) []exampleKey {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var keys []exampleKey
	area := ""
	for i, line := range strings.Split(string(data), "\n") {
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch depth := len(m[1]) + len(m[2]); depth {
		case 0:
			area = m[3]
			keys = append(keys, exampleKey{m[3], i + 1})
		case 2:
			keys = append(keys, exampleKey{area + "." + m[3], i + 1})
		}
	}
	return keys
}

// TestExampleShowsEverySetting checks config.example.yaml against the
// settings: each is set or shown commented out (a secret by itself or by
// its _file), and each key the example shows is a setting or an area.
func TestExampleShowsEverySetting(t *testing.T) {
	sections, err := reference.Sections(".")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, sec := range sections {
		if sec.Key != "" {
			known[sec.Key] = true
		}
		for _, s := range sec.Settings {
			known[s.Key] = true
		}
	}
	shown := map[string]bool{}
	for _, k := range readExampleKeys(t) {
		shown[k.key] = true
		if !known[k.key] {
			t.Errorf("config.example.yaml line %d: %s is not a setting (a comment line shaped \"# key: value\" is read as a setting shown commented out: reword it)", k.line, k.key)
		}
	}
	for _, sec := range sections {
		if sec.Key != "" && !shown[sec.Key] {
			t.Errorf("config.example.yaml has no %s: area", sec.Key)
		}
		for _, s := range sec.Settings {
			if !shown[s.Key] && (s.FileKey == "" || !shown[s.FileKey]) {
				t.Errorf("config.example.yaml does not show %s (%s): set it to its default %q, or show it commented out (\"# %s: …\")",
					s.Key, s.Type, s.Default, s.Key[strings.LastIndex(s.Key, ".")+1:])
			}
		}
	}
}
