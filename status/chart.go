package status

import (
	"fmt"
	"html/template"
	"strings"
)

// chartSVG draws the last hour as stacked bars (accepted, refused,
// faults per minute), as inline SVG.
func chartSVG(minutes []Minute) template.HTML {
	const w, h, bar = 600, 120, 9
	peak := 1
	for _, m := range minutes {
		peak = max(peak, m.Accepted+m.Refused+m.Fault)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="decisions per minute, last hour">`, w, h+16)
	for i, m := range minutes {
		x := i * (w / 60)
		y := h
		for _, part := range []struct {
			n     int
			color string
			what  string
		}{{m.Accepted, "#2e7d32", "accepted"}, {m.Refused, "#ef6c00", "refused"}, {m.Fault, "#c62828", "faults"}} {
			if part.n == 0 {
				continue
			}
			ph := max(1, part.n*h/peak)
			y -= ph
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%d min ago: %d %s</title></rect>`, x, y, bar, ph, part.color, m.Ago, part.n, part.what)
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="11">60 min ago</text><text x="%d" y="%d" font-size="11" text-anchor="end">now (peak %d/min)</text></svg>`, h+14, w, h+14, peak)
	return template.HTML(b.String()) // built here from numbers only
}
