package config

import "strings"

// OneLine is an error's text on one line, as the program prints errors:
// the problems of a joined error (Validate's, Load's) and the lines of a
// YAML error separated by "; ".
func OneLine(err error) string {
	var b strings.Builder
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case b.Len() == 0:
		case strings.HasSuffix(b.String(), ":"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(line)
	}
	return b.String()
}
