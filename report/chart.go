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
	// Unchanged are the fields that did not move, in words: not charted.
	Unchanged []string
}

// chartView is one series drawn as inline SVG, in the view its kind calls
// for (docs/run-folder.md, "Charts"):
//
//   - gauge: the value at each sample, as a line;
//   - delta (show counter ... delta yes): each sample is already the
//     change since the sample before, drawn as it is, one bar per sample;
//   - cumulative (a running total): the change over each interval between
//     two samples, one bar per interval, with its rate per second.
//
// The y axis always holds zero, so no two tick labels read the same in the
// page's number format. Coordinates are precomputed strings so the
// template only places them.
type chartView struct {
	ID    string // unique within the page, for aria-labelledby
	Title string // the SVG's accessible title
	Field string
	// What says what is drawn: "value at each sample", ...
	What   string
	W, H   int
	Frame  box
	YTicks []tick
	XTicks []tick
	Zero   string // y of the zero line
	Line   string // polyline points, for a gauge
	Dots   []dot
	Bars   []bar
	// Summary is the chart in words, under it.
	Summary string
}

type box struct{ X, Y, X2, Y2 string }

// tick is an axis label at (X, Y), anchored by Anchor; GY is the y of its
// grid line (y axis only).
type tick struct{ X, Y, GY, Label, Anchor string }

type dot struct{ X, Y, Title string }

type bar struct {
	X, Y, W, H, LX, LY, Label, Title string
	Neg                              bool
	// Restart marks the interval in which a running total went down: it
	// restarted (a rekey, a clear), and the bar is its new value.
	Restart bool
}

// Chart geometry, in SVG user units. The page scales the SVG to its
// column (about 340 to 520 CSS pixels), so the text stays 10 to 15 pixels.
const (
	chartW    = 400
	padLeft   = 50 // room for "-1.53M" at the y ticks
	padRight  = 10
	plotTop   = 16 // room for a bar's label above the highest bar
	plotH     = 100
	xLabelY   = plotTop + plotH + 16
	chartH    = xLabelY + 6
	maxBarW   = 28.0
	minLabelW = 40.0 // a bar is labelled when its slot is at least this wide
	xLabelW   = 56.0 // "15:04:05" at the page's font size
	yTicksN   = 4
)

// The words of each view.
var kindWhat = map[string]string{
	engine.SeriesGauge:      "value at each sample",
	engine.SeriesDelta:      "change since the sample before, as the device counts it (delta yes)",
	engine.SeriesCumulative: "change over each interval (running total)",
}

// seriesKind is the kind the engine recorded, or for a manifest written
// before series had one, the engine's rule applied to the command.
func seriesKind(s engine.SeriesRecord, command string) string {
	if _, ok := kindWhat[s.Kind]; ok {
		return s.Kind
	}
	return engine.SeriesKind("", command)
}

// bookkeepingFields are the fields never charted unless a finding names
// them: they describe the output or the SA rather than the traffic (ids,
// sizes, clocks and lifetimes that only count down or up with time).
var bookkeepingFields = map[string]bool{
	// show counter global: how many counters were listed, and the
	// seconds since the previous delta sample.
	"count": true, "elapsed_seconds": true,
	// show vpn flow tunnel-id: ids, configuration and clocks of the SA.
	"id": true, "gateway_id": true, "session": true, "tunnel_mtu": true,
	"lifetime_remain": true, "latest_rekey": true, "en_decap_context": true,
	"owner_state": true, "ownership": true, "sending_sequence": true, "receive_sequence": true,
}

// bookkeeping reports whether field is not charted on its own: one of
// bookkeepingFields, or an id (a name ending in _id).
func bookkeeping(field string) bool {
	return bookkeepingFields[field] || strings.HasSuffix(field, "_id")
}

// seriesKey names a series: its step, item and field.
type seriesKey struct{ step, item, field string }

// chartGroups groups the series no finding names by step (and item), in
// manifest order, leaving out bookkeeping fields. used are the series
// already drawn beside a finding.
func chartGroups(m *engine.Manifest, info stepInfo, used map[seriesKey]bool, next func() string) []chartGroup {
	var groups []chartGroup
	type key struct{ step, item string }
	index := map[key]int{}
	for _, s := range m.Series {
		if used[seriesKey{s.Step, s.Item, s.Field}] || bookkeeping(s.Field) {
			continue
		}
		g, ok := index[key{s.Step, s.Item}]
		if !ok {
			g = len(groups)
			index[key{s.Step, s.Item}] = g
			groups = append(groups, chartGroup{Step: s.Step, Item: s.Item, Command: info.command(s.Step, s.Item), Runs: len(s.Values)})
		}
		if len(s.Values) > groups[g].Runs {
			groups[g].Runs = len(s.Values)
		}
		kind := seriesKind(s, groups[g].Command)
		if w, ok := unchanged(s, kind); ok {
			groups[g].Unchanged = append(groups[g].Unchanged, w)
			continue
		}
		title := s.Step
		if s.Item != "" {
			title += " item " + s.Item
		}
		groups[g].Charts = append(groups[g].Charts, chart(next(), title+": "+s.Field, s, kind))
	}
	return groups
}

// unchanged says, for a series with nothing to draw, what it did: a level
// or a running total that stayed the same, a delta counter at 0 in every
// sample. A series a finding names is drawn all the same.
func unchanged(s engine.SeriesRecord, kind string) (string, bool) {
	vals, _ := finite(s.Values, nil)
	if len(vals) < 2 {
		return "", false
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false
		}
	}
	if kind == engine.SeriesDelta {
		if vals[0] != 0 {
			return "", false
		}
		return s.Field + " 0 in every sample", true
	}
	return s.Field + " stayed at " + fmtNum(vals[0]), true
}

// chart draws series s of the given kind.
func chart(id, title string, s engine.SeriesRecord, kind string) chartView {
	c := chartView{ID: id, Title: title, Field: s.Field, What: kindWhat[kind], W: chartW, H: chartH,
		Frame: box{X: f(padLeft), Y: f(plotTop), X2: f(chartW - padRight), Y2: f(plotTop + plotH)}}
	vals, times := finite(s.Values, s.Times)
	n := len(vals)
	if n == 0 {
		c.Summary = "no numeric samples"
		c.Zero = f(plotTop + plotH)
		return c
	}
	// What is drawn: the values, or the change over each interval.
	drawn := vals
	var restarts []bool
	if kind == engine.SeriesCumulative {
		if n < 2 {
			kind, c.What = engine.SeriesGauge, kindWhat[engine.SeriesGauge]
		} else {
			drawn, restarts = changes(vals)
		}
	}
	lo, hi, step := niceAxis(drawn)
	if math.IsInf(hi-lo, 0) || math.IsNaN(hi-lo) {
		c.Summary = "values too large to draw: " + join(vals, fmtNum)
		c.Zero = f(plotTop + plotH)
		return c
	}
	yAt := func(v float64) float64 { return plotTop + plotH*(hi-v)/(hi-lo) }
	for k := 0; k <= int(math.Round((hi-lo)/step)) && k <= 3*yTicksN; k++ {
		y := yAt(lo + float64(k)*step)
		c.YTicks = append(c.YTicks, tick{X: f(padLeft - 5), Y: f(y + 4), GY: f(y), Label: fmtNum(lo + float64(k)*step), Anchor: "end"})
	}
	c.Zero = f(yAt(0))
	plotW := float64(chartW - padLeft - padRight)
	slots := len(drawn)
	slotW := plotW / float64(slots)
	centre := func(k int) float64 { return padLeft + slotW*(float64(k)+0.5) }

	// The time labels: under each slot for values, at the slot edges for
	// intervals; thinned out so that they do not overlap.
	xs := make([]float64, n)
	for k := range xs {
		if kind == engine.SeriesCumulative {
			xs[k] = padLeft + slotW*float64(k)
		} else {
			xs[k] = centre(k)
		}
	}
	every := 1
	if gap := xs[min(1, n-1)] - xs[0]; n > 1 && gap < xLabelW+6 {
		every = int(math.Ceil((xLabelW + 6) / gap))
	}
	ks := []int{}
	for k := 0; k < n; k += every {
		ks = append(ks, k)
	}
	if last := ks[len(ks)-1]; last != n-1 {
		if xs[n-1]-xs[last] < xLabelW+6 {
			ks = ks[:len(ks)-1] // the last sample's label takes its place
		}
		ks = append(ks, n-1)
	}
	for _, k := range ks {
		c.XTicks = append(c.XTicks, xTick(xs[k], label(times, k)))
	}

	if kind == engine.SeriesGauge {
		pts := make([]string, n)
		for k, v := range vals {
			x, y := centre(k), yAt(v)
			pts[k] = f(x) + "," + f(y)
			c.Dots = append(c.Dots, dot{X: f(x), Y: f(y), Title: label(times, k) + ": " + fmtExact(v)})
		}
		c.Line = strings.Join(pts, " ")
		c.Summary = gaugeSummary(vals)
		if len(vals) != len(s.Values) {
			c.Summary += " (non-numeric samples left out)"
		}
		return c
	}

	bw := math.Min(maxBarW, 0.6*slotW)
	for k, d := range drawn {
		x := centre(k)
		y0, y1 := yAt(0), yAt(d)
		b := bar{X: f(x - bw/2), Y: f(math.Min(y0, y1)), W: f(bw), H: f(math.Abs(y1 - y0)), Neg: d < 0, LX: f(x)}
		if kind == engine.SeriesDelta {
			b.Title = label(times, k) + ": " + fmtExact(d)
		} else {
			b.Title = label(times, k) + " → " + label(times, k+1) + ": " + signedExact(d)
			if r, ok := rate(times, k, k+1, d); ok {
				b.Title += " (" + fmtRate(r) + ")"
			}
			if restarts[k] {
				b.Restart = true
				b.Title += ", counted from 0: the counter restarted"
			}
		}
		if slotW >= minLabelW {
			// Every bar is labelled, a zero one too: "0" on the line says
			// the counter did not move, not that a bar is missing.
			if kind == engine.SeriesCumulative {
				b.Label = fmtSigned(d)
			} else {
				b.Label = fmtNum(d)
			}
			if d < 0 {
				b.LY = f(y1 + 11)
			} else {
				b.LY = f(y1 - 3)
			}
		}
		c.Bars = append(c.Bars, b)
	}
	if kind == engine.SeriesDelta {
		c.Summary = deltaSummary(vals)
	} else {
		c.Summary = cumulativeSummary(vals, times)
	}
	if len(vals) != len(s.Values) {
		c.Summary += " (non-numeric samples left out)"
	}
	return c
}

func xTick(x float64, l string) tick {
	t := tick{X: f(x), Y: f(xLabelY), Label: l, Anchor: "middle"}
	switch {
	case x-xLabelW/2 < 0:
		t.Anchor, t.X = "start", f(math.Max(x-xLabelW/2, 0))
	case x+xLabelW/2 > chartW:
		t.Anchor, t.X = "end", f(math.Min(x+xLabelW/2, chartW))
	}
	return t
}

// gaugeSummary: the values, or their range when there are many.
func gaugeSummary(v []float64) string {
	if len(v) <= 8 {
		return "values " + join(v, fmtNum)
	}
	lo, hi := minMax(v)
	return "from " + fmtNum(v[0]) + " to " + fmtNum(v[len(v)-1]) + ", between " + fmtNum(lo) + " and " + fmtNum(hi) +
		" over " + strconv.Itoa(len(v)) + " samples"
}

// deltaSummary: the samples and their sum.
func deltaSummary(v []float64) string {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	s := "total " + fmtNum(sum) + " in " + strconv.Itoa(len(v)) + " samples"
	if len(v) <= 8 {
		s = "per sample " + join(v, fmtNum) + "; " + s
	}
	return s
}

// changes is the change of a running total over each interval. A total
// that went down restarted (a new SA after a rekey, a clear): the change of
// that interval is counted from zero, its new value, as monitoring tools
// count a counter reset, and restarts says which intervals did.
func changes(v []float64) (d []float64, restarts []bool) {
	d = make([]float64, len(v)-1)
	restarts = make([]bool, len(v)-1)
	for k := range d {
		d[k] = v[k+1] - v[k]
		if d[k] < 0 {
			d[k], restarts[k] = v[k+1], true
		}
	}
	return d, restarts
}

// cumulativeSummary: the change from the first sample to the last, its
// rate, and the running total.
func cumulativeSummary(v []float64, times []time.Time) string {
	n := len(v)
	d, restarts := changes(v)
	total := 0.0
	for _, x := range d {
		total += x
	}
	s := fmtSigned(total)
	if d, ok := between(times, 0, n-1); ok {
		s += " over " + d.String() + " (" + fmtRate(total/d.Seconds()) + ")"
	}
	s += "; running total " + fmtNum(v[0]) + " → " + fmtNum(v[n-1])
	for k, r := range restarts {
		if r {
			s += "; it restarted from 0 before " + label(times, k+1) + " (a rekey or a clear): that interval counts its new value"
			break
		}
	}
	return s
}

func join(v []float64, format func(float64) string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = format(x)
	}
	return strings.Join(parts, ", ")
}

// niceAxis is a y axis holding zero and every value of v, from lo to hi in
// steps of 1, 2, 2.5 or 5 times a power of ten: its ticks have at most two
// significant digits, which the page's format shows exactly.
func niceAxis(v []float64) (lo, hi, step float64) {
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if lo == hi { // all zero
		return 0, 1, 1
	}
	raw := (hi - lo) / yTicksN
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw*(1-1e-9) {
			step = m * mag
			break
		}
	}
	if integers(v) && step < 1 { // counts: no tick at half a packet
		step = 1
	}
	if step == 2.5 && integers(v) {
		step = 2
	}
	lo = math.Floor(lo/step+1e-9) * step
	hi = math.Ceil(hi/step-1e-9) * step
	if hi == lo {
		hi = lo + step
	}
	return lo, hi, step
}

func integers(v []float64) bool {
	for _, x := range v {
		if x != math.Trunc(x) {
			return false
		}
	}
	return true
}

// finite keeps the finite values and the times that go with them.
func finite(v []float64, times []time.Time) ([]float64, []time.Time) {
	out := make([]float64, 0, len(v))
	var ts []time.Time
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		out = append(out, x)
		if i < len(times) {
			ts = append(ts, times[i])
		} else {
			ts = append(ts, time.Time{})
		}
	}
	return out, ts
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

func signedExact(v float64) string {
	if v > 0 {
		return "+" + fmtExact(v)
	}
	return fmtExact(v)
}

// f formats an SVG coordinate.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
