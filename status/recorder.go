package status

import (
	"sort"
	"sync"
	"time"
)

// Recorder counts decisions per minute for the last hour, by edge and
// result. It is safe for concurrent use and its size is fixed.
type Recorder struct {
	mu      sync.Mutex
	minutes [60]minute
}

type minute struct {
	at     int64 // unix minute; 0: empty
	counts map[Series]int
}

// Series is one edge's one result ("extauth", "bad-password").
type Series struct{ Edge, Result string }

// Record counts one decision at t.
func (r *Recorder) Record(edge, result string, t time.Time) {
	m := t.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.minutes[m%60]
	if b.at != m {
		b.at, b.counts = m, map[Series]int{}
	}
	b.counts[Series{edge, result}]++
}

// Count is a series' total over a window.
type Count struct {
	Series
	Last5, Last60 int
}

// Totals sums each series over the last 5 and 60 minutes before now,
// sorted by edge, then by count (largest first).
func (r *Recorder) Totals(now time.Time) []Count {
	cur := now.Unix() / 60
	sums := map[Series]*Count{}
	r.mu.Lock()
	for _, b := range r.minutes {
		age := cur - b.at
		if b.at == 0 || age < 0 || age >= 60 {
			continue
		}
		for s, n := range b.counts {
			c := sums[s]
			if c == nil {
				c = &Count{Series: s}
				sums[s] = c
			}
			c.Last60 += n
			if age < 5 {
				c.Last5 += n
			}
		}
	}
	r.mu.Unlock()
	out := make([]Count, 0, len(sums))
	for _, c := range sums {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Edge != out[j].Edge {
			return out[i].Edge < out[j].Edge
		}
		if out[i].Last60 != out[j].Last60 {
			return out[i].Last60 > out[j].Last60
		}
		return out[i].Result < out[j].Result
	})
	return out
}

// Minute is one minute of the chart: accepted, refused and faults.
type Minute struct {
	Ago                      int // minutes before now: 59 … 0
	Accepted, Refused, Fault int
}

// Chart returns the last 60 minutes, oldest first, with each result put
// in one of three kinds by kind.
func (r *Recorder) Chart(now time.Time, kind func(result string) string) []Minute {
	cur := now.Unix() / 60
	out := make([]Minute, 60)
	for i := range out {
		out[i].Ago = 59 - i
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.minutes {
		age := cur - b.at
		if b.at == 0 || age < 0 || age >= 60 {
			continue
		}
		m := &out[59-age]
		for s, n := range b.counts {
			switch kind(s.Result) {
			case "accepted":
				m.Accepted += n
			case "fault":
				m.Fault += n
			default:
				m.Refused += n
			}
		}
	}
	return out
}
