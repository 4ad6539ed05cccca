package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
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
// the socket, and a copy to this process's stderr (the chat server's
// log: the container's, the journal) while that stays open.
func spawnDaemon(cfgPath, socket string) (exited <-chan struct{}, err error) {
	exe, err := programPath()
	if err != nil {
		return nil, err
	}
	args := []string{daemonCommand, "--socket", socket, "--log-fd", strconv.Itoa(extauthd.LogFD)}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", abs)
	}
	return extauthd.Spawn(os.Stderr, exe, args...)
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
	logFD := fs.Int("log-fd", 0, "the spawner's stderr, where the log goes too unless log.file is set; 0: none")
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
	var copies []io.Writer
	if *logFD > 0 && cfg.Log.File == "" { // like extauth: log.file, else the chat server's log
		if w := extauthd.InheritedLog(*logFD); w != nil {
			copies = append(copies, w)
		}
	}
	log, closeLog, err := app.NewLogger(logCfg, stderr, copies...)
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
