// Package expiring keeps sets of keys that each expire at their own time:
// the verified-password cache, the record of used tokens and the record of
// used signed requests are each one. A key past its expiry is absent. The
// set forgets expired keys as it grows (every SweepEvery additions), and
// Trim bounds it. It is safe for concurrent use; it imports nothing of
// ours.
package expiring

import (
	"sync"
	"time"
)

// SweepEvery is how many additions pass between two sweeps of expired
// keys.
const SweepEvery = 1024

// Set is a set of keys with expiries. The zero value is not usable: call
// New.
type Set[K comparable] struct {
	mu      sync.Mutex
	entries map[K]time.Time // key → expiry
	adds    int
}

// New returns an empty Set.
func New[K comparable]() *Set[K] { return &Set[K]{entries: map[K]time.Time{}} }

// Has reports whether k is in the set and not expired at now. An expired
// k is dropped.
func (s *Set[K]) Has(k K, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.entries[k]
	if ok && !now.Before(exp) {
		delete(s.entries, k)
		return false
	}
	return ok
}

// Add puts k in the set until exp (an earlier expiry of k is replaced).
func (s *Set[K]) Add(k K, exp, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(k, exp, now)
}

// AddNew puts k in the set until exp unless it is there and not expired
// at now, and reports whether it put it: a once-only check and record in
// one step.
func (s *Set[K]) AddNew(k K, exp, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[k]; ok && now.Before(old) {
		return false
	}
	s.addLocked(k, exp, now)
	return true
}

func (s *Set[K]) addLocked(k K, exp, now time.Time) {
	if s.adds++; s.adds%SweepEvery == 0 {
		s.sweepLocked(now)
	}
	s.entries[k] = exp
}

// Trim makes room for one more key under max: it drops expired keys, then
// arbitrary ones, until fewer than max are left. max ≤ 0 drops nothing.
func (s *Set[K]) Trim(max int, now time.Time) {
	if max <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) < max {
		return
	}
	s.sweepLocked(now)
	for k := range s.entries {
		if len(s.entries) < max {
			break
		}
		delete(s.entries, k)
	}
}

// Sweep drops the keys expired at now.
func (s *Set[K]) Sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
}

func (s *Set[K]) sweepLocked(now time.Time) {
	for k, exp := range s.entries {
		if !now.Before(exp) {
			delete(s.entries, k)
		}
	}
}

// Len is the number of keys held, expired ones not yet dropped included.
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Range calls f for every key held and its expiry, in no order, with the
// set locked: f must not call the set.
func (s *Set[K]) Range(f func(k K, exp time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.entries {
		f(k, exp)
	}
}
