package status

import (
	"fmt"
	"livechat-auth/provider"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Recorder counts decisions per minute for the last hour, by edge and
// result, per second for the last minute, by edge, and keeps the last
// MaxRefusals refusals. It is safe for concurrent use and its size is
// fixed.
type Recorder struct {
	mu       sync.Mutex
	minutes  [60]minute
	seconds  [60]second
	refusals [MaxRefusals]Refusal
	next     int // where the next refusal goes in refusals
}

// MaxRefusals is how many refusals (of sign-ins and sessions: not of
// lookups, see lookups) a Recorder keeps.
const MaxRefusals = 50

// maxName bounds the bytes of a name a refusal keeps: names come from
// whoever asks.
const maxName = 100

// Refusal is one decision that was not "accepted": when, at which edge,
// which command about which name (as given, cut to 100 bytes), and why.
type Refusal struct {
	At     time.Time `json:"at"`
	Edge   string    `json:"edge"`
	Cmd    string    `json:"cmd"`
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
}

type second struct {
	at     int64 // unix second; 0: empty
	counts map[string]int
}

type minute struct {
	at     int64 // unix minute; 0: empty
	counts map[Series]int
}

// Series is one edge's one result ("extauth", "bad-password").
type Series struct {
	Edge   string `json:"edge"`
	Result string `json:"result"`
}

// Record counts one decision of edge at t, and keeps it when it is a
// refusal.
func (r *Recorder) Record(edge string, d provider.Decision, t time.Time) {
	m, sec := t.Unix()/60, t.Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &r.minutes[m%60]
	if b.at != m {
		b.at, b.counts = m, map[Series]int{}
	}
	b.counts[Series{edge, d.Result}]++
	sb := &r.seconds[sec%60]
	if sb.at != sec {
		sb.at, sb.counts = sec, map[string]int{}
	}
	sb.counts[edge]++
	if d.Result == provider.ResultAccepted || d.Result == provider.ResultOutageGrace || lookups[d.Cmd] {
		return
	}
	r.refusals[r.next] = Refusal{At: t, Edge: edge, Cmd: d.Cmd, Name: Printable(cut(d.Name, maxName)), Reason: d.Result}
	r.next = (r.next + 1) % MaxRefusals
}

// lookups are the commands that only ask whether an account exists: the
// chat server asks them while routing (a message to a mistyped contact),
// so their "no" is no refusal an operator looks for, and would push the
// sign-ins' out of the list.
var lookups = map[string]bool{"isuser": true, "user_exists": true}

// Printable is s with every character that is not shown as itself
// (controls such as ESC, and format characters such as U+202E, which
// reverses the text after it) written as \u escapes: names come from
// whoever asks, and land in pages and terminals.
func Printable(s string) string {
	if !strings.ContainsFunc(s, notPrintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrintable(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }

// cut returns s cut to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Refusals returns the refusals kept, newest first.
func (r *Recorder) Refusals() []Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Refusal
	for i := 1; i <= MaxRefusals; i++ {
		x := r.refusals[(r.next-i+MaxRefusals)%MaxRefusals]
		if x.At.IsZero() {
			break
		}
		out = append(out, x)
	}
	return out
}

// LastMinute counts each edge's decisions in the 60 seconds before now.
func (r *Recorder) LastMinute(now time.Time) map[string]int {
	cur := now.Unix()
	out := map[string]int{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.seconds {
		if age := cur - b.at; b.at == 0 || age < 0 || age >= 60 {
			continue
		}
		for edge, n := range b.counts {
			out[edge] += n
		}
	}
	return out
}

// Count is a series' total over a window.
type Count struct {
	Series
	Last5  int `json:"last_5m"`
	Last60 int `json:"last_60m"`
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
