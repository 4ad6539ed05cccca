package doctor

import (
	"context"
	"time"

	"livechat-auth/config"
)

// checkTokens loads the token keys with load (Config.Tokens).
func (d *report) checkTokens(ctx context.Context, cfg config.Config, load func(context.Context, config.Token) (string, error)) {
	if !cfg.Token.Enabled() {
		d.say(verdictOK, "tokens off (no token.* key): passwords only", "")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	minting, err := load(ctx, cfg.Token)
	if err != nil {
		d.say(verdictFail, config.OneLine(err), "fix the key or secret named; livechat-auth keygen makes a signing key")
		return
	}
	what := "token keys load"
	if minting != "" {
		what += "; tokens are minted with " + minting
	}
	d.say(verdictOK, what, "")
}
