package app

import (
	"fmt"
	"io"
	"os"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
)

// NewLogger builds the root logger. Logs go to stderr or log.file, never
// to stdout (extauth's replies), and to each of copies too. The returned
// close function releases a log file.
func NewLogger(cfg config.Log, stderr io.Writer, copies ...io.Writer) (hclog.Logger, func(), error) {
	out, closeOut := stderr, func() {}
	if cfg.File != "" {
		f, err := os.OpenFile(cfg.File, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		out, closeOut = f, func() { _ = f.Close() } // nothing useful to do if closing the log fails
	}
	if len(copies) > 0 {
		out = io.MultiWriter(append([]io.Writer{out}, copies...)...)
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:       "livechat-auth",
		Level:      hclog.LevelFromString(cfg.Level),
		Output:     out,
		JSONFormat: cfg.Format == "json",
	})
	// The MySQL driver reports dropped connections through its own logger,
	// which would write to stderr past our level and format.
	_ = mysql.SetLogger(log.Named("mysql").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})) // fails only for a nil logger
	return log, closeOut, nil
}

// WarnSettings logs, once at start, what the settings accept but an
// operator should fix: LIVECHAT_AUTH_* variables that name no setting,
// and secret files every user may read. A variable that names no setting
// is a typo whose setting silently keeps its default: with log.file set
// it is said on stderr too, where whoever started the program looks.
func WarnSettings(log hclog.Logger, cfg config.Config, cfgPath string, stderr io.Writer) {
	for _, w := range config.UnknownEnv(os.Environ()) {
		log.Warn(w)
		if cfg.Log.File != "" {
			fmt.Fprintf(stderr, "livechat-auth: warning: %s\n", w)
		}
	}
	for _, w := range cfg.ExposedFiles(cfgPath) {
		log.Warn(w.String())
	}
}
