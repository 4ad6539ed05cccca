package app

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"livechat-auth/config"
	"livechat-auth/xmpp/extauthd"
)

// AutoSocket returns the relay socket of the automatic extauth daemon for
// these settings, in the user's private folder (extauthd.DaemonSocket).
// Its name comes from SettingsKey, so that two configurations never share
// a daemon.
func AutoSocket(cfgPath string, getenv func(string) string) (string, error) {
	return extauthd.DaemonSocket(getenv, os.Getuid(), autoSocketName(cfgPath, getenv))
}

func autoSocketName(cfgPath string, getenv func(string) string) string {
	return "extauth-" + SettingsKey(cfgPath, getenv) + ".sock"
}

// SettingsKey identifies a configuration: the config file's real path
// (symbolic links resolved: a link and the file it names are one
// configuration) and every LIVECHAT_AUTH_* override except log.* (where
// and how much to log changes no decision).
func SettingsKey(cfgPath string, getenv func(string) string) string {
	h := sha256.New()
	if cfgPath != "" {
		if abs, err := filepath.Abs(cfgPath); err == nil {
			cfgPath = abs
		}
		if real, err := filepath.EvalSymlinks(cfgPath); err == nil {
			cfgPath = real
		}
		fmt.Fprintf(h, "config=%s\n", cfgPath)
	}
	for _, name := range config.EnvNames() {
		if strings.HasPrefix(name, config.EnvPrefix+"LOG_") {
			continue
		}
		if v := getenv(name); v != "" {
			fmt.Fprintf(h, "%s=%s\n", name, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FindControl returns a client for the control socket of the daemon that
// keeps the failure counts of these settings: serve's
// (extauth.daemon_socket) or the automatic daemon's (extauthd.FindControl).
func FindControl(cfg config.Config, cfgPath string, getenv func(string) string) (*extauthd.ControlClient, error) {
	switch s := cfg.Extauth.DaemonSocket; s {
	case config.DaemonOff:
		return nil, errors.New("extauth.daemon_socket is off: each extauth process keeps its own failure counts, which only restarting ejabberd clears")
	case "":
		return extauthd.FindControl(extauthd.ControlSocket(autoSocketName(cfgPath, getenv)), getenv)
	default:
		return extauthd.NewControlClient(extauthd.ControlSocket(s)), nil
	}
}
