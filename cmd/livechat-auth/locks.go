package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"livechat-auth/app"
	"livechat-auth/config"
	"livechat-auth/provider"
	"livechat-auth/status"
	"livechat-auth/wikidb"
)

// lockSource is where locks are read and cleared: a daemon's control
// socket (extauthd.ControlClient), or the shared Redis.
type lockSource interface {
	Locks(ctx context.Context) ([]provider.Lock, error)
	Unlock(ctx context.Context, user string) (bool, error)
}

// redisLocks reads and clears the locks kept in the shared Redis, with
// the limits of the settings.
type redisLocks struct{ auth *provider.Authenticator }

func openRedisLocks(cfg config.Config) (redisLocks, func(), error) {
	r, err := app.OpenRedis(cfg.State, hclog.NewNullLogger(), nil)
	if err != nil {
		return redisLocks{}, nil, err
	}
	if err := r.Err(); err != nil {
		r.Close()
		return redisLocks{}, nil, err
	}
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{}) // never asked: locks need no account
	if err != nil {
		r.Close()
		return redisLocks{}, nil, err
	}
	auth, err := provider.New(store, provider.Config{Domains: cfg.Domains, MaxFailures: cfg.Auth.MaxFailures,
		FailureWindow: cfg.Auth.FailureWindow, Failures: r.Failures(provider.NewMemory().Failures())})
	if err != nil {
		store.Close()
		r.Close()
		return redisLocks{}, nil, err
	}
	return redisLocks{auth}, func() { store.Close(); r.Close() }, nil
}

func (l redisLocks) Locks(context.Context) ([]provider.Lock, error) { return l.auth.Locks(), nil }

func (l redisLocks) Unlock(_ context.Context, user string) (bool, error) {
	return l.auth.Unlock(user), nil
}

// openAccountCheck opens the wiki to tell the locks of accounts from the
// others (see status.SplitLocks). The returned func closes it.
func openAccountCheck(cfg config.Config) (status.IsAccount, func(), error) {
	store, err := wikidb.Open(string(cfg.Wiki.DSN), wikidb.Config{QueryTimeout: cfg.Wiki.QueryTimeout, MaxOpenConns: 1})
	if err != nil {
		return nil, nil, err
	}
	auth, err := provider.New(store, provider.Config{Domains: cfg.Domains})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	isAccount := func(ctx context.Context, name string) (bool, error) { return auth.UserExists(ctx, name, "") }
	return isAccount, func() { store.Close() }, nil
}

// runLocks lists the accounts the failure limit has locked, or clears
// one lock, by asking the daemon that keeps the shared failure counts.
// Nothing needs restarting. Exit 0 on success, 1 when "clear" finds no
// lock, 2 when no daemon can be asked.
//
// The list has one line a lock on stdout: the wiki accounts' first, then
// the others (names that are no account, keys of other limits), each
// kind announced on stderr.
func runLocks(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flags("locks", stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return fail(stderr, "locks", err)
	}
	clear := fs.NArg() == 2 && fs.Arg(0) == "clear"
	if fs.NArg() != 0 && !clear {
		fs.Usage()
		return exitError
	}
	var client lockSource
	control, err := app.FindControl(cfg, fs.Lookup("config").Value.String(), getenv)
	switch {
	case err == nil:
		client = control
	case cfg.State.Enabled():
		// No daemon here (a Prosody node, or none running): the counts
		// are in the shared Redis, which this command asks itself.
		shared, closeShared, serr := openRedisLocks(cfg)
		if serr != nil {
			return fail(stderr, "locks", serr)
		}
		defer closeShared()
		client = shared
	default:
		return fail(stderr, "locks", err)
	}
	if clear {
		user := fs.Arg(1)
		if _, isKey := status.KeyKind(user); !isKey {
			user, _, _ = strings.Cut(user, "@") // alice@chat.example.org names alice
		}
		cleared, err := client.Unlock(ctx, user)
		switch {
		case err != nil:
			return fail(stderr, "locks", err)
		case !cleared:
			fmt.Fprintf(stdout, "%s has no failed sign-ins to clear\n", user)
			return exitRefused
		}
		fmt.Fprintf(stdout, "cleared the failed sign-ins of %s: not locked now\n", user)
		return exitOK
	}
	locks, err := client.Locks(ctx)
	if err != nil {
		return fail(stderr, "locks", err)
	}
	status.WriteLocks(stdout, stderr, splitLocks(ctx, cfg, locks, stderr), time.Now(), fs.Lookup("config").Value.String())
	return exitOK
}

// splitLocks asks the wiki which locked names are accounts, as the status
// page does; a wiki it cannot open leaves every name not checked.
func splitLocks(ctx context.Context, cfg config.Config, locks []provider.Lock, stderr io.Writer) status.Locks {
	if len(locks) == 0 {
		return status.Locks{}
	}
	isAccount, closeWiki, err := openAccountCheck(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "livechat-auth locks: wiki.dsn: %s\n", config.OneLine(err))
	} else {
		defer closeWiki()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return status.SplitLocks(ctx, locks, isAccount, status.LookupMax)
}
