package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/session"
	"livechat-auth/provider/token"
	"livechat-auth/state"
)

// State is what serve and the automatic daemon keep for their whole life,
// reloads included: the record of used tokens, the failure counts and
// verified passwords, the migration API's proofs and the session API's
// used requests. With state.redis_url they are shared with the other
// sidecars of a cluster (verified passwords stay in each process: their
// keys are its own).
type State struct {
	used     token.UsedRecord
	memory   *provider.Memory
	failures provider.FailureCounts // nil: those of memory
	old      provider.OldPasswords  // nil: those of memory
	seen     session.SeenRecord
	redis    *state.Redis // nil: not shared
	closeAll func() error
}

// OpenState opens the state of serve (serve true) or of an automatic
// daemon, answering on socket ("" for none). onHealth, when set, is told
// whether Redis answers.
func OpenState(cfg config.Config, socket string, serve bool, log hclog.Logger, onHealth func(up bool)) (*State, error) {
	s := &State{memory: provider.NewMemory()}
	if !serve && !cfg.State.Enabled() && cfg.Migration.Enabled {
		log.Warn("the old chat passwords that serve's migration API proves are not seen by this daemon, so an old account's own sign-ins count as failures of its name until the migration completes: relay to serve (extauth.daemon_socket) or share the state in Redis (state.redis_url)")
	}
	if !cfg.State.Enabled() {
		used, err := openUsedTokens(cfg, socket, serve)
		if err != nil {
			return nil, err
		}
		s.used, s.seen, s.closeAll = used, session.NewSeen(), used.Close
		return s, nil
	}
	r, err := OpenRedis(cfg.State, log.Named("state"), onHealth)
	if err != nil {
		return nil, err
	}
	if cfg.Token.UsedFile != "" {
		log.Warn("token.used_file is not used: the record of used tokens is kept in Redis (state.redis_url)")
	}
	s.redis = r
	s.used, s.seen, s.failures, s.closeAll = r.UsedTokens(), r.Seen(), r.Failures(s.memory.Failures()), r.Close
	s.old = r.OldPasswords(s.memory.OldPasswords())
	log.Info("sharing used tokens, failure counts, migration proofs and session requests in Redis", "key_prefix", cfg.State.KeyPrefix)
	return s, nil
}

// OpenRedis opens the shared state's Redis (state.*). Errors name
// state.redis_url.
func OpenRedis(cfg config.State, log hclog.Logger, onHealth func(up bool)) (*state.Redis, error) {
	r, err := state.Open(state.Config{
		URL: string(cfg.RedisURL), Password: string(cfg.RedisPassword), CAFile: cfg.RedisCAFile,
		Prefix: cfg.KeyPrefix, Timeout: cfg.Timeout, OnHealth: onHealth,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("state.redis_url: %w", err)
	}
	return r, nil
}

// openUsedTokens opens the record of used tokens of a daemon answering on
// socket ("" for none): journaled to token.used_file, else to
// $STATE_DIRECTORY/used-tokens (systemd's StateDirectory=, for serve: an
// automatic daemon, one per settings, keeps its own), else to a file
// beside the socket, else (no socket) kept in memory only. The record
// outlives reloads; the caller closes it.
func openUsedTokens(cfg config.Config, socket string, serve bool) (*token.UsedTokens, error) {
	path := cfg.Token.UsedFile
	if d := os.Getenv("STATE_DIRECTORY"); path == "" && d != "" && serve {
		// systemd's StateDirectory= survives restarts, where the
		// RuntimeDirectory= beside the socket does not.
		d, _, _ = strings.Cut(d, ":")
		path = filepath.Join(d, "used-tokens")
	}
	if path == "" && socket != "" {
		path = strings.TrimSuffix(socket, ".sock") + ".used"
	}
	if path == "" {
		return token.NewUsedTokens(), nil
	}
	used, err := token.OpenUsedTokens(path, time.Now())
	if err != nil {
		key := "token.used_file"
		if cfg.Token.UsedFile == "" {
			key = "the record of used tokens (" + path + ", set token.used_file to move it)"
		}
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return used, nil
}

// Options are the build options that carry this state.
func (s *State) Options() Options {
	return Options{Used: s.used, Memory: s.memory, Failures: s.failures, OldPasswords: s.old}
}

// Seen is the session and migration APIs' record of used requests.
func (s *State) Seen() session.SeenRecord { return s.seen }

// Degraded says why the state is not fully shared now; nil when it is
// (or when it is not meant to be).
func (s *State) Degraded(ctx context.Context) error {
	if s.redis == nil {
		return nil
	}
	return s.redis.Check(ctx)
}

// Close closes the record of used tokens or the Redis connection.
func (s *State) Close() error {
	if s.closeAll == nil {
		return errors.New("closed twice")
	}
	err := s.closeAll()
	s.closeAll = nil
	return err
}
