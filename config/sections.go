package config

import (
	"reflect"
	"strings"
)

// ChangedSections names the top-level sections of the settings (wiki,
// token, …) that differ between a and b, by their file keys; no value is
// named, secrets included.
func ChangedSections(a, b Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("yaml"), ",")
			out = append(out, name)
		}
	}
	return out
}
