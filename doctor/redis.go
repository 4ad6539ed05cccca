package doctor

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/config"
	"livechat-auth/state"
)

// checkRedis asks the shared Redis, when one is set.
func (d *report) checkRedis(ctx context.Context, cfg config.Config) {
	if !cfg.State.Enabled() {
		return
	}
	shared, err := state.Open(state.Config{URL: string(cfg.State.RedisURL), Password: string(cfg.State.RedisPassword),
		CAFile: cfg.State.RedisCAFile, Prefix: cfg.State.KeyPrefix, Timeout: cfg.State.Timeout}, hclog.NewNullLogger())
	if err != nil {
		d.say(verdictFail, "state.redis_url: "+config.OneLine(err), "")
		return
	}
	defer shared.Close()
	if err := shared.Check(ctx); err != nil {
		d.say(verdictFail, config.OneLine(err), "check state.redis_url (host, port, password, TLS) and that Redis runs")
		return
	}
	d.say(verdictOK, "the shared Redis answers", "")
}
