package config

// The configuration reference, docs/configuration.md, is written from
// Config's fields and their doc comments, EnvNames and Default;
// TestReference fails when it is stale.
//go:generate go run ./internal/gendoc ../docs/configuration.md
