// Command gendoc writes the configuration reference from the settings in
// config/. "go generate ./config" runs it there, as
// "go run ./internal/gendoc ../docs/configuration.md".
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"livechat-auth/config/internal/reference"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gendoc OUT.md (run in config/)")
		return 2
	}
	page, err := reference.Page(".")
	if err != nil {
		fmt.Fprintf(stderr, "gendoc: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
		fmt.Fprintf(stderr, "gendoc: %v\n", err)
		return 1
	}
	if err := os.WriteFile(args[0], page, 0o644); err != nil {
		fmt.Fprintf(stderr, "gendoc: %v\n", err)
		return 1
	}
	return 0
}
