package test

import (
	"context"
	"time"

	"livechat-auth/test/harness"
)

// goSignIn signs in over plain TCP with mellium's client (SASL PLAIN, then
// resource binding) and closes the session. A refusal is an error.
func goSignIn(ctx context.Context, addr, address, password string) error {
	return goSignInWithin(ctx, 15*time.Second, addr, address, password)
}

// goSignInWithin is goSignIn giving up after limit.
func goSignInWithin(ctx context.Context, limit time.Duration, addr, address, password string) error {
	return harness.SignIn(ctx, limit, addr, address, password)
}
