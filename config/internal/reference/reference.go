// Package reference builds the configuration reference,
// docs/configuration.md, from the code's one list of settings: the fields
// of config.Config give the file keys (their yaml tags) and the
// descriptions (their doc comments), config.EnvNames which keys the
// environment sets, and config.Default the defaults.
//
// It also checks that list against itself, so that the page is never
// written from one that disagrees: a field whose doc comment does not open
// with its own key and variable ("auth.max_failures,
// LIVECHAT_AUTH_AUTH_MAX_FAILURES: …"), a "Default X" in a comment that is
// not Default's value, a non-empty default the comment does not state, a
// variable that names no field and a plain field with no variable are
// all errors.
package reference

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"livechat-auth/config"
)

// Setting is one key of the config file.
type Setting struct {
	Key         string // dotted file key, e.g. "auth.max_failures"
	Env         string // its environment variable; "" when the file alone sets it
	Type        string // string, secret, bool, integer, duration, list, or a file-only shape
	Default     string // Default's value as the file would write it; "" for empty
	Description string // the field's doc comment past its opening "key, VARIABLE:"
	FileKey     string // for a secret, the key of the file that may hold it instead ("" if none)
}

// Section is one area of settings, a mapping in the file.
type Section struct {
	Key      string // "wiki"; "" for the keys at the top of the file
	Doc      string // what the area is: its type's doc comment, opening with the key
	Settings []Setting
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(config.Secret(""))
)

// Sections reads the settings, area by area in the order of
// config.Config's fields; dir is the config package's source directory,
// for the doc comments. The error lists every disagreement found.
func Sections(dir string) ([]Section, error) {
	docs, err := readComments(dir)
	if err != nil {
		return nil, err
	}
	b := builder{docs: docs, envs: map[string]bool{}}
	for _, name := range config.EnvNames() {
		b.envs[name] = false
	}
	t, def := reflect.TypeOf(config.Config{}), reflect.ValueOf(config.Default())
	top := Section{}
	var sections []Section
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := yamlKey(f)
		if key == "" {
			continue
		}
		if f.Type.Kind() != reflect.Struct || f.Type == durationType {
			top.Settings = append(top.Settings, b.setting(t, f, key, def.Field(i)))
			continue
		}
		s := Section{Key: key, Doc: b.sectionDoc(f.Type, key)}
		for j := 0; j < f.Type.NumField(); j++ {
			if k := yamlKey(f.Type.Field(j)); k != "" {
				s.Settings = append(s.Settings, b.setting(f.Type, f.Type.Field(j), key+"."+k, def.Field(i).Field(j)))
			}
		}
		sections = append(sections, s)
	}
	for _, name := range config.EnvNames() {
		if !b.envs[name] {
			b.bad(name, "config.EnvNames lists it, but no field of config.Config has its key")
		}
	}
	all := append([]Section{top}, sections...)
	pairSecrets(all)
	return all, errors.Join(b.problems...)
}

// builder gathers the settings and the problems found on the way.
type builder struct {
	docs     comments
	envs     map[string]bool // every variable config.EnvNames lists → seen on a field
	problems []error
}

func (b *builder) bad(key, problem string) {
	b.problems = append(b.problems, errors.New(key+": "+problem))
}

// sectionDoc is the doc of an area's type, its Go name replaced by its key.
func (b *builder) sectionDoc(t reflect.Type, key string) string {
	doc := b.docs.types[t.Name()]
	rest, ok := strings.CutPrefix(doc, t.Name()+" ")
	if !ok {
		b.bad(key, fmt.Sprintf("the doc comment of type %s must open with %q, saying what the area is", t.Name(), t.Name()+" "))
		return doc
	}
	return "`" + key + "` " + rest
}

func (b *builder) setting(parent reflect.Type, f reflect.StructField, key string, def reflect.Value) Setting {
	s := Setting{Key: key, Type: typeName(f.Type), Default: format(def)}
	env := config.EnvName(key)
	if _, ok := b.envs[env]; ok {
		s.Env = env
		b.envs[env] = true
	} else if scalar(f.Type) {
		b.bad(key, "a plain value the environment cannot set: add it to config's envVars")
	}
	opening := key + ": "
	if s.Env != "" {
		opening = key + ", " + env + ": "
	}
	doc := b.docs.fields[parent.Name()][f.Name]
	desc, ok := strings.CutPrefix(doc, opening)
	if !ok || desc == "" {
		b.bad(key, fmt.Sprintf("the doc comment of %s.%s must open with %q and say what the setting does", parent.Name(), f.Name, opening))
	}
	s.Description = desc + subKeys(f.Type)
	if problem := checkDefault(desc, def, s.Default); problem != "" {
		b.bad(key, problem)
	}
	return s
}

// pairSecrets sets the FileKey of every secret that has a key_file.
func pairSecrets(sections []Section) {
	for _, sec := range sections {
		keys := map[string]bool{}
		for _, s := range sec.Settings {
			keys[s.Key] = true
		}
		for i, s := range sec.Settings {
			if s.Type == "secret" && keys[s.Key+"_file"] {
				sec.Settings[i].FileKey = s.Key + "_file"
			}
		}
	}
}

func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func scalar(t reflect.Type) bool {
	return t.Kind() != reflect.Struct && t.Kind() != reflect.Map &&
		(t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Struct)
}

func typeName(t reflect.Type) string {
	switch {
	case t == secretType:
		return "secret"
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Struct:
		return "mapping"
	case t.Kind() == reflect.Map:
		return "mapping of names to mappings"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of mappings"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Int:
		return "integer"
	}
	return t.Kind().String()
}

// subKeys names the keys of a file-only mapping's entries.
func subKeys(t reflect.Type) string {
	if t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return " Keys: " + strings.Join(keys, ", ") + "."
}

// format writes a default as the file would; "" for an empty value.
func format(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return formatDuration(time.Duration(v.Int()))
	case v.Kind() == reflect.String:
		return v.String() // not fmt: a Secret prints [redacted]
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case v.Kind() == reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = v.Index(i).String()
		}
		return strings.Join(items, ", ")
	}
	return ""
}

// formatDuration is d without the zero units String leaves: 1m, not 1m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// statedDefault finds "Default X" in a description.
var statedDefault = regexp.MustCompile(`\bDefault ([^\s]+)`)

// checkDefault compares the default a description states with Default's;
// a default that is not empty, zero or false must be stated.
func checkDefault(desc string, def reflect.Value, want string) string {
	m := statedDefault.FindStringSubmatch(desc)
	if m == nil {
		if want == "" || want == "0" || want == "0s" || want == "false" {
			return ""
		}
		return fmt.Sprintf("the doc comment states no default; config.Default has %s: say \"Default %s.\"", want, want)
	}
	said := strings.Trim(strings.TrimRight(m[1], ".,;:)"), `"`)
	same := said == want
	if def.Type() == durationType {
		d, err := time.ParseDuration(said)
		same = err == nil && d == time.Duration(def.Int())
	}
	if !same {
		return fmt.Sprintf("the doc comment says \"Default %s\", but config.Default has %q", said, want)
	}
	return ""
}
