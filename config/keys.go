package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// unknownKeys lists the keys of a config file's YAML that name no
// setting, each as its dotted key with the nearest known key when one is
// close ("wiki.query_timout: unknown setting (did you mean
// wiki.query_timeout?)"). It reads the keys off Config's yaml tags.
func unknownKeys(root *yaml.Node) []string {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var problems []string
	walkKeys(root, reflect.TypeOf(Config{}), "", &problems)
	return problems
}

// yamlFields maps a struct's YAML keys to their fields' types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = t.Field(i).Type
		}
	}
	return fields
}

func walkKeys(n *yaml.Node, t reflect.Type, prefix string, problems *[]string) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if key == "<<" {
			continue // a YAML merge key: its mapping's keys are checked where they are written
		}
		ft, ok := fields[key]
		if !ok {
			msg := prefix + key + ": unknown setting"
			if near := nearest(key, fields); near != "" {
				msg += fmt.Sprintf(" (did you mean %s%s?)", prefix, near)
			}
			*problems = append(*problems, msg)
			continue
		}
		walkKeys(n.Content[i+1], ft, prefix+key+".", problems)
		walkInside(n.Content[i+1], ft, prefix+key, problems)
	}
}

// walkInside checks the keys of the structs inside a map or a list
// (rooms.settings.support, rooms.rules[0]).
func walkInside(n *yaml.Node, t reflect.Type, key string, problems *[]string) {
	switch {
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkKeys(n.Content[i+1], t.Elem(), key+"."+n.Content[i].Value+".", problems)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			walkKeys(item, t.Elem(), fmt.Sprintf("%s[%d].", key, i), problems)
		}
	}
}

// nearest returns the known key within two edits of key, if any.
func nearest(key string, known map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range known {
		if d := editDistance(key, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// typeProblems lists, for each key of a config file's YAML whose value
// has the wrong shape for its setting, a line naming the key and what it
// needs ("domains: must be a list, e.g. [chat.example.org]"), in place of
// the YAML decoder's Go type names. It checks what walkKeys found known.
func typeProblems(root *yaml.Node) []string {
	if root.Kind == 0 {
		return nil // an empty file
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return nil // empty, or comments only: sets nothing
		}
		root = root.Content[0]
	}
	var problems []string
	checkTypes(root, reflect.TypeOf(Config{}), "", &problems)
	return problems
}

var durationType = reflect.TypeOf(time.Duration(0))

func checkTypes(n *yaml.Node, t reflect.Type, key string, problems *[]string) {
	bad := func(need string) {
		// The value is never shown: a misplaced one may be a secret.
		shown := fmt.Sprintf(" (line %d)", n.Line)
		name := key
		if name == "" {
			name = "the config file"
		}
		*problems = append(*problems, fmt.Sprintf("%s: must be %s%s", name, need, shown))
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value sets nothing
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!int" || n.Tag == "!!float" {
			bad("a duration with its unit, such as 0s, 5s or 1m")
		} else if _, err := time.ParseDuration(n.Value); err != nil {
			bad("a duration with its unit, such as 0s, 5s or 1m")
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("a section of settings (key: value lines indented under it)")
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "<<" {
				checkTypes(n.Content[i+1], t, key, problems) // a merged mapping holds this section's keys
				continue
			}
			if ft, ok := fields[n.Content[i].Value]; ok {
				name := n.Content[i].Value
				if key != "" {
					name = key + "." + name
				}
				checkTypes(n.Content[i+1], ft, name, problems)
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad("a list, e.g. [a, b] or one \"- item\" per line")
			return
		}
		for i, item := range n.Content {
			checkTypes(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i), problems)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("a section of named entries")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkTypes(n.Content[i+1], t.Elem(), key+"."+n.Content[i].Value, problems)
		}
	case t.Kind() == reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			bad("a whole number, unquoted")
		} else if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err != nil {
			bad("a whole number, unquoted")
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			bad("true or false, unquoted")
		}
	case t.Kind() == reflect.Ptr:
		checkTypes(n, t.Elem(), key, problems)
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			bad("a single value (quote it if it holds : or #)")
		}
	}
}
