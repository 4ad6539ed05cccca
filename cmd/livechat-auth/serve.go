package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/server"
)

// runServe runs serve (package server) until ctx ends (SIGINT, SIGTERM),
// then drains it. SIGHUP reloads the settings and keys without dropping
// connections; settings that cannot be loaded whole are refused and the
// running ones kept.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	hup := make(chan os.Signal, 1) // from the start: SIGHUP's default action ends the process
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fs := flags("serve", stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	log, closeLog, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	defer closeLog()
	log = log.Named("serve")
	cfgPath := fs.Lookup("config").Value.String()
	app.WarnSettings(log, cfg, cfgPath, stderr)
	s, err := server.Open(ctx, cfg, server.Options{Path: cfgPath, Getenv: getenv}, log)
	if err != nil {
		if cfg.Log.File != "" { // stderr gets the line below; the log file gets it too
			log.Error("cannot start", "error", config.OneLine(err))
		}
		return fail(stderr, "serve", err)
	}
	defer s.Close()
	if err := s.Run(ctx, hup); err != nil {
		return exitError
	}
	return exitOK
}
