package wikidb

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// accountCache keeps the answers of UserByLivechatID, found or not, for a
// short time (Config.AccountCache), so that a burst of requests for one
// account (ejabberd's isuser checks around a sign-in, a reconnecting
// client) asks the database once. A change in the wiki is seen at most
// ttl late. Errors are never kept. It is safe for concurrent use and
// holds at most max answers.
type accountCache struct {
	ttl    time.Duration
	max    int
	flight singleflight.Group

	mu      sync.Mutex
	answers map[string]accountAnswer
}

type accountAnswer struct {
	u       User
	found   bool
	expires time.Time
}

func newAccountCache(ttl time.Duration, max int) *accountCache {
	if ttl <= 0 {
		return nil
	}
	return &accountCache{ttl: ttl, max: max, answers: make(map[string]accountAnswer)}
}

// get returns the kept answer for id, if it has not expired.
func (c *accountCache) get(id string, now time.Time) (accountAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.answers[id]
	if ok && !now.Before(a.expires) {
		delete(c.answers, id)
		return accountAnswer{}, false
	}
	return a, ok
}

// put keeps an answer read at the time now. When the cache is full,
// expired answers are dropped, and if none were, an arbitrary one is.
func (c *accountCache) put(id string, a accountAnswer, now time.Time) {
	a.expires = now.Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.answers[id]; !ok && len(c.answers) >= c.max {
		for old, kept := range c.answers {
			if !now.Before(kept.expires) {
				delete(c.answers, old)
			}
		}
		for old := range c.answers {
			if len(c.answers) < c.max {
				break
			}
			delete(c.answers, old)
		}
	}
	c.answers[id] = a
}

// cachedUserByLivechatID answers from the cache, or asks read once for
// all concurrent callers asking for the same id and keeps the answer.
// The time of the answer is taken before the query, so that it is never
// kept longer than ttl after the database was asked.
func (s *Store) cachedUserByLivechatID(ctx context.Context, id string, read func(context.Context) (User, bool, error)) (User, bool, error) {
	c := s.accounts
	if a, ok := c.get(id, s.now()); ok {
		return a.u, a.found, nil
	}
	v, err, _ := c.flight.Do(id, func() (any, error) {
		asked := s.now()
		if a, ok := c.get(id, asked); ok {
			return a, nil // kept by a flight that ended after our look
		}
		u, found, err := read(ctx)
		if err != nil {
			return nil, err
		}
		a := accountAnswer{u: u, found: found}
		c.put(id, a, asked)
		return a, nil
	})
	if err != nil {
		return User{}, false, err
	}
	a := v.(accountAnswer)
	return a.u, a.found, nil
}
