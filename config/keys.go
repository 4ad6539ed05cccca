package config

import (
	"fmt"
	"reflect"
	"strings"

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

func walkKeys(n *yaml.Node, t reflect.Type, prefix string, problems *[]string) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = t.Field(i).Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
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
