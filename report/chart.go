package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// chartGroup is the charts of one repeated step, or of one item of a
// for_each step.
type chartGroup struct {
	Step    string
	Item    string
	Command string
	Runs    int
	Charts  []chartView
}

// chartView is one series drawn as inline SVG: the values as a line, the
// change between consecutive runs as bars beneath it. Coordinates are
// precomputed strings so the template only places them.
type chartView struct {
	ID     string // unique within the page, for aria-labelledby
	Step   string
	Item   string
	Field  string
	W, H   int
	Frame  box
	YTicks []tick
	XTicks []tick
	Line   string // polyline points
	Dots   []dot
	// Deltas
	DFrame   box
	Baseline string
	Bars     []bar
	DTicks   []tick
	// Text under the chart.
	Values    string
	DeltaText string
	Summary   string
}

type box struct{ X, Y, W, H, X2, Y2, MidY string }

type tick struct{ X, Y, Label string }

type dot struct{ X, Y, Title string }

type bar struct {
	X, Y, W, H, LX, LY, Label, Title string
	Neg                              bool
}

// Chart geometry, in SVG user units (CSS pixels at 100%).
const (
	chartW     = 520
	padLeft    = 74
	padRight   = 30
	plotTop    = 12
	plotH      = 104
	xLabelY    = plotTop + plotH + 14
	deltaTop   = xLabelY + 22
	deltaH     = 46
	chartH     = deltaTop + deltaH + 14
	maxBarW    = 26.0
	barLabelsN = 12 // label each bar when there are at most this many
	xTicksMax  = 6
)

// chartGroups groups the manifest's series by step (and item), in
// manifest order.
func chartGroups(m *engine.Manifest) []chartGroup {
	var groups []chartGroup
	type key struct{ step, item string }
	index := map[key]int{}
	for i, s := range m.Series {
		g, ok := index[key{s.Step, s.Item}]
		if !ok {
			g = len(groups)
			index[key{s.Step, s.Item}] = g
			groups = append(groups, chartGroup{Step: s.Step, Item: s.Item, Command: stepCommand(m, s.Step, s.Item), Runs: len(s.Values)})
		}
		if len(s.Values) > groups[g].Runs {
			groups[g].Runs = len(s.Values)
		}
		groups[g].Charts = append(groups[g].Charts, chart(i, s))
	}
	return groups
}

// stepCommand is the command a step ran (its first run; for a for_each
// step, its first run for item).
func stepCommand(m *engine.Manifest, id, item string) string {
	for _, s := range m.Steps {
		if s.ID == id && s.Item == item && s.Command != "" {
			return s.Command
		}
	}
	return ""
}

func chart(i int, s engine.SeriesRecord) chartView {
	c := chartView{ID: "chart-" + strconv.Itoa(i+1), Step: s.Step, Item: s.Item, Field: s.Field, W: chartW, H: chartH}
	vals := finite(s.Values)
	n := len(vals)
	plotW := float64(chartW - padLeft - padRight)
	c.Frame = frame(padLeft, plotTop, plotW, plotH)
	c.DFrame = frame(padLeft, deltaTop, plotW, deltaH)
	if n == 0 {
		c.Summary = "no numeric samples"
		return c
	}
	xAt := func(k int) float64 {
		if n == 1 {
			return padLeft + plotW/2
		}
		return padLeft + plotW*float64(k)/float64(n-1)
	}

	// The values, as a line over [lo, hi].
	lo, hi := minMax(vals)
	if lo == hi {
		pad := math.Max(math.Abs(lo)*0.05, 1)
		lo, hi = lo-pad, hi+pad
	}
	yAt := func(v float64) float64 { return plotTop + plotH*(1-(v-lo)/(hi-lo)) }
	dlo, dhi := minMax(vals)
	yv := []float64{dhi, (dlo + dhi) / 2, dlo}
	if dlo == dhi {
		yv = yv[:1]
	}
	for i, l := range axisLabels(yv) {
		c.YTicks = append(c.YTicks, tick{X: f(padLeft - 6), Y: f(yAt(yv[i]) + 4), Label: l})
	}
	pts := make([]string, n)
	for k, v := range vals {
		x, y := xAt(k), yAt(v)
		pts[k] = f(x) + "," + f(y)
		c.Dots = append(c.Dots, dot{X: f(x), Y: f(y), Title: label(s.Times, k) + ": " + fmtNum(v)})
	}
	c.Line = strings.Join(pts, " ")
	step := 1
	if n > xTicksMax {
		step = int(math.Ceil(float64(n-1) / float64(xTicksMax-1)))
	}
	for k := 0; k < n; k += step {
		c.XTicks = append(c.XTicks, tick{X: f(xAt(k)), Y: f(xLabelY), Label: label(s.Times, k)})
	}
	if last := n - 1; (last)%step != 0 {
		c.XTicks = append(c.XTicks, tick{X: f(xAt(last)), Y: f(xLabelY), Label: label(s.Times, last)})
	}

	// The deltas, as bars around a zero baseline.
	deltas := make([]float64, 0, n)
	for k := 1; k < n; k++ {
		deltas = append(deltas, vals[k]-vals[k-1])
	}
	dmin, dmax := 0.0, 0.0
	for _, d := range deltas {
		dmin, dmax = math.Min(dmin, d), math.Max(dmax, d)
	}
	span := dmax - dmin
	base := float64(deltaTop + deltaH)
	if span > 0 {
		base = deltaTop + deltaH*dmax/span
	}
	c.Baseline = f(base)
	if dmax > 0 && base-deltaTop >= 12 {
		c.DTicks = append(c.DTicks, tick{X: f(padLeft - 6), Y: f(deltaTop + 8), Label: "+" + fmtShort(dmax)})
	}
	c.DTicks = append(c.DTicks, tick{X: f(padLeft - 6), Y: f(base + 4), Label: "0"})
	if dmin < 0 && deltaTop+deltaH-base >= 12 {
		c.DTicks = append(c.DTicks, tick{X: f(padLeft - 6), Y: f(deltaTop + deltaH), Label: fmtShort(dmin)})
	}
	bw := maxBarW
	if n > 1 {
		bw = math.Min(maxBarW, 0.6*plotW/float64(n-1))
	}
	var dtext []string
	for k, d := range deltas {
		xm := (xAt(k) + xAt(k+1)) / 2
		h := 0.0
		if span > 0 {
			h = deltaH * math.Abs(d) / span
		}
		y := base - h
		if d < 0 {
			y = base
		}
		b := bar{X: f(xm - bw/2), Y: f(y), W: f(bw), H: f(h), Neg: d < 0, LX: f(xm),
			Title: label(s.Times, k) + " → " + label(s.Times, k+1) + ": " + signed(d, fmtNum)}
		if len(deltas) <= barLabelsN && d != 0 {
			b.Label = signed(d, fmtShort)
			if d < 0 {
				b.LY = f(y + h + 10)
			} else {
				b.LY = f(y - 2)
			}
		}
		c.Bars = append(c.Bars, b)
		t := signed(d, fmtNum)
		if r, ok := rate(s.Times, k, k+1, d); ok {
			t += " (" + fmtRate(r) + ")"
		}
		dtext = append(dtext, t)
	}
	strs := make([]string, n)
	for k, v := range vals {
		strs[k] = fmtNum(v)
	}
	c.Values = strings.Join(strs, " → ")
	c.DeltaText = strings.Join(dtext, ", ")
	if n > 1 {
		total := vals[n-1] - vals[0]
		c.Summary = "Δ first→last " + signed(total, fmtNum)
		if r, ok := rate(s.Times, 0, n-1, total); ok {
			c.Summary += ", " + fmtRate(r)
		}
		if d, ok := between(s.Times, 0, n-1); ok {
			c.Summary += " over " + d.String()
		}
	}
	if len(vals) != len(s.Values) {
		c.Summary += " (non-numeric samples left out)"
	}
	return c
}

// axisLabels labels values briefly (388.1k), or exactly when the brief
// labels would not tell them apart (a counter that moved by a few).
func axisLabels(v []float64) []string {
	short := make([]string, len(v))
	seen := map[string]bool{}
	distinct := true
	for i, x := range v {
		short[i] = fmtShort(x)
		distinct = distinct && !seen[short[i]]
		seen[short[i]] = true
	}
	if distinct {
		return short
	}
	exact := make([]string, len(v))
	for i, x := range v {
		exact[i] = fmtNum(math.Round(x*100) / 100)
	}
	return exact
}

func frame(x, y, w, h float64) box {
	return box{X: f(x), Y: f(y), W: f(w), H: f(h), X2: f(x + w), Y2: f(y + h), MidY: f(y + h/2)}
}

func finite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// label names run k by its time, else by its number.
func label(times []time.Time, k int) string {
	if k < len(times) && !times[k].IsZero() {
		return times[k].UTC().Format("15:04:05")
	}
	return "#" + strconv.Itoa(k+1)
}

func between(times []time.Time, a, b int) (time.Duration, bool) {
	if b >= len(times) || times[a].IsZero() || times[b].IsZero() {
		return 0, false
	}
	d := times[b].Sub(times[a])
	return d.Round(time.Millisecond), d > 0
}

func rate(times []time.Time, a, b int, delta float64) (float64, bool) {
	d, ok := between(times, a, b)
	if !ok {
		return 0, false
	}
	return delta / d.Seconds(), true
}

func fmtRate(r float64) string {
	a := math.Abs(r)
	switch {
	case a >= 100 || r == math.Trunc(r):
		return strconv.FormatFloat(r, 'f', 0, 64) + "/s"
	case a >= 1:
		return strconv.FormatFloat(r, 'f', 1, 64) + "/s"
	}
	s := strings.TrimRight(strconv.FormatFloat(r, 'f', 3, 64), "0")
	return strings.TrimSuffix(s, ".") + "/s"
}

func signed(v float64, format func(float64) string) string {
	if v > 0 {
		return "+" + format(v)
	}
	return format(v)
}

// f formats an SVG coordinate.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
