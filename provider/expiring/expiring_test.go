package expiring

import (
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := New[string]()
	s.Add("a", now.Add(time.Minute), now)
	if !s.Has("a", now) || s.Has("b", now) {
		t.Fatal("Has after Add")
	}
	if s.Has("a", now.Add(time.Minute)) {
		t.Error("present at its expiry")
	}
	if s.Len() != 0 {
		t.Error("an expired key found by Has was kept")
	}
	if !s.AddNew("x", now.Add(time.Second), now) || s.AddNew("x", now.Add(time.Second), now) {
		t.Error("AddNew: first true, second false")
	}
	if !s.AddNew("x", now.Add(time.Minute), now.Add(time.Second)) {
		t.Error("AddNew refused a key that had expired")
	}
}

func TestSweepAndTrim(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := New[int]()
	for i := range SweepEvery - 1 {
		s.Add(i, now.Add(time.Second), now)
	}
	s.Add(-1, now.Add(time.Hour), now.Add(2*time.Second)) // the SweepEvery-th: sweeps
	if s.Len() != 1 {
		t.Errorf("Len after a sweep = %d, want 1", s.Len())
	}
	for i := range 10 {
		s.Add(i, now.Add(time.Hour), now)
	}
	s.Trim(5, now)
	if s.Len() != 4 {
		t.Errorf("Len after Trim(5) = %d, want 4", s.Len())
	}
	s.Trim(0, now)
	if s.Len() != 4 {
		t.Error("Trim(0) dropped keys")
	}
	n := 0
	s.Range(func(int, time.Time) { n++ })
	if n != 4 {
		t.Errorf("Range saw %d keys", n)
	}
}
