package provider

import (
	"testing"
	"time"
)

// noDirectory stands in for a Directory New only checks is there.
type noDirectory struct{ Directory }

func TestNewRefusesIncompleteConfig(t *testing.T) {
	dir := noDirectory{}
	for name, cfg := range map[string]Config{
		"no domains":       {},
		"cache, no size":   {Domains: []string{"d"}, CacheTTL: time.Minute},
		"limit, no window": {Domains: []string{"d"}, MaxFailures: 3},
	} {
		if _, err := New(dir, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(nil, Config{Domains: []string{"d"}}); err == nil {
		t.Error("nil directory accepted")
	}
	a, err := New(dir, Config{Domains: []string{"d"}})
	if err != nil {
		t.Fatalf("everything off: %v", err)
	}
	if blocked, _ := a.limiter.blocked("x", time.Now()); blocked || a.cache.has(cacheKey{}, time.Now()) {
		t.Fatal("zero config turned something on")
	}
}
