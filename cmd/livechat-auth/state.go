package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/provider/session"
	"livechat-auth/provider/token"
	"livechat-auth/state"
)

// sharedState is what serve and the automatic daemon keep for their whole
// life, reloads included: the record of used tokens, the failure counts
// and verified passwords, and the session API's used requests. With
// state.redis_url they are shared with the other sidecars of a cluster
// (verified passwords stay in each process: their keys are its own).
type sharedState struct {
	used     token.UsedRecord
	memory   *provider.Memory
	failures provider.FailureCounts // nil: those of memory
	old      provider.OldPasswords  // nil: those of memory
	seen     session.SeenRecord
	redis    *state.Redis // nil: not shared
	closeAll func() error
}

// openSharedState opens the state of serve (serve true) or of an
// automatic daemon, answering on socket ("" for none). onHealth, when
// set, is told whether Redis answers.
func openSharedState(cfg config.Config, socket string, serve bool, log hclog.Logger, onHealth func(up bool)) (*sharedState, error) {
	s := &sharedState{memory: provider.NewMemory()}
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
	r, err := state.Open(state.Config{
		URL: string(cfg.State.RedisURL), Password: string(cfg.State.RedisPassword), CAFile: cfg.State.RedisCAFile,
		Prefix: cfg.State.KeyPrefix, Timeout: cfg.State.Timeout, OnHealth: onHealth,
	}, log.Named("state"))
	if err != nil {
		return nil, fmt.Errorf("state.redis_url: %w", err)
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

// options are the build options that carry this state.
func (s *sharedState) options() buildOptions {
	return buildOptions{used: s.used, memory: s.memory, failures: s.failures, oldPasswords: s.old}
}

// degraded says why the state is not fully shared now; nil when it is
// (or when it is not meant to be).
func (s *sharedState) degraded(ctx context.Context) error {
	if s.redis == nil {
		return nil
	}
	return s.redis.Check(ctx)
}

func (s *sharedState) Close() error {
	if s.closeAll == nil {
		return errors.New("closed twice")
	}
	err := s.closeAll()
	s.closeAll = nil
	return err
}
