package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"livechat-auth/app"
	"livechat-auth/server"
	"livechat-auth/xmpp/extauthd"
)

// daemonCommand is the hidden subcommand an extauth process starts when
// no daemon answers for its settings.
const daemonCommand = "extauth-daemon"

// spawnDaemon starts the automatic daemon for socket: this very program,
// detached (extauthd.Spawn). Its logs go to log.file or a file beside
// the socket, never to the extauth process's stderr (ejabberd's pipe,
// which closes when ejabberd stops).
func spawnDaemon(cfgPath, socket string) error {
	exe, err := programPath()
	if err != nil {
		return err
	}
	args := []string{daemonCommand, "--socket", socket}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return err
		}
		args = append(args, "--config", abs)
	}
	return extauthd.Spawn(exe, args...)
}

// programPath is the program file as it was started (extauthd.ProgramPath).
func programPath() (string, error) { return extauthd.ProgramPath(os.Args[0]) }

// runDaemon runs the automatic daemon (server.RunDaemon) on --socket.
func runDaemon(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	hup := make(chan os.Signal, 1) // from the start: SIGHUP's default action ends the process
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fs := flag.NewFlagSet(daemonCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "the relay socket to answer on")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, daemonCommand, err)
	}
	if *socket == "" || !filepath.IsAbs(*socket) {
		return fail(stderr, daemonCommand, fmt.Errorf("--socket: an absolute path is required"))
	}
	logCfg := cfg.Log
	if logCfg.File == "" {
		logCfg.File = strings.TrimSuffix(*socket, ".sock") + ".log"
	}
	log, closeLog, err := app.NewLogger(logCfg, stderr)
	if err != nil {
		return fail(stderr, daemonCommand, err)
	}
	defer closeLog()
	err = server.RunDaemon(ctx, cfg, server.DaemonOptions{
		Path: fs.Lookup("config").Value.String(), Getenv: getenv, Socket: *socket, Hangup: hup,
	}, log.Named("extauth-daemon"))
	if err != nil {
		return exitError
	}
	return exitOK
}
