package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/examples"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/report"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedManifest is testdata/manifest.json: a failed run with findings of
// every severity, series, a pending cleanup and an artifact.
func fixedManifest(t *testing.T) *engine.Manifest {
	t.Helper()
	m, err := engine.ReadManifest("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func render(t *testing.T, m *engine.Manifest) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.HTML(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	got := render(t, fixedManifest(t))
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("report.html differs from %s at line %d (go test ./report -update rewrites it):\n got %q\nwant %q", golden, i+1, g, w)
			}
		}
	}
}

// tagRE matches an HTML start tag with its attributes.
var tagRE = regexp.MustCompile(`<[a-zA-Z][^>]*>`)

// outsideRefs lists what in the page could run code or fetch anything.
func outsideRefs(page string) []string {
	var out []string
	lower := strings.ToLower(page)
	// Markup cannot come from text: text has its "<" escaped.
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "<style", "<meta http-equiv"} {
		if n := strings.Count(lower, bad); n > 0 && (bad != "<style" || n > 1) {
			out = append(out, "page contains "+bad)
		}
	}
	if i, j := strings.Index(lower, "<style>"), strings.Index(lower, "</style>"); i >= 0 && j > i {
		style := lower[i:j]
		for _, bad := range []string{"http:", "https:", "//", "@import", "url("} {
			if strings.Contains(style, bad) {
				out = append(out, "the stylesheet refers to something outside the page: "+bad)
			}
		}
	}
	onAttr := regexp.MustCompile(`\son[a-z]+\s*=`)
	for _, tag := range tagRE.FindAllString(page, -1) {
		tl := strings.ToLower(tag)
		if strings.Contains(tl, "http:") || strings.Contains(tl, "https:") || strings.Contains(tl, "//") ||
			strings.Contains(tl, "javascript:") || strings.Contains(tl, "url(") {
			out = append(out, "a tag refers outside the page: "+tag)
		}
		if strings.Contains(tl, " src=") || strings.Contains(tl, " srcset=") {
			out = append(out, "a tag loads something: "+tag)
		}
		if onAttr.MatchString(tl) {
			out = append(out, "a tag has an event handler: "+tag)
		}
	}
	return out
}

func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, p := range outsideRefs(page) {
		t.Error(p)
	}
}

func TestSelfContained(t *testing.T) {
	page := render(t, fixedManifest(t))
	assertSelfContained(t, page)
	// The check itself catches each kind of outside reference.
	for _, bad := range []string{
		`<script>x()</script>`,
		`<a href="https://example.com/">x</a>`,
		`<div style="background:url(x.png)">`,
		`<img src="x.png">`,
		`<p onclick="x()">`,
		`<a href="//example.com/x">`,
	} {
		if len(outsideRefs(strings.Replace(page, "<footer>", bad+"<footer>", 1))) == 0 {
			t.Errorf("outsideRefs missed %s", bad)
		}
	}
}

func TestShowsWhatSummaryShows(t *testing.T) {
	page := render(t, fixedManifest(t))
	for _, want := range []string{
		"fw1 (ssh)", "PA-5060-edge", "10.2.9", "multi_vsys",
		"built-in phase2-down", "sha256 9f2c4e0b7a1d3c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6",
		`<span class="result res-bad">CLEANUP INCOMPLETE, the device may still be in debug (steps: failed, 1 critical, 1 warning and 1 info findings)</span> <span class="st-bad">1 command not undone</span> <span class="muted">(exit code 3)</span>`,
		"Fri Nov 27 10:02:33 UTC 2026",
		"2026-11-27 10:02:30 UTC", "2026-11-27 10:13:07 UTC", "(10m37s)",
		"Not evaluated: replay-drops: steps.counters: no such step ran",
		"No ESP session for sap-sap; the session table is skipped.",
		`<a href="steps/005-flow.txt">steps/005-flow.txt</a>`,
		`<a href="artifacts/ikemgr.pcap"><code>artifacts/ikemgr.pcap</code></a>: debug-pcap (1.8 MiB)`,
		"transport: command timed out after 30s",
		`<td class="st st-bad">timeout</td>`, `<td class="st st-skip">skipped</td>`,
		`<td class="s">undo</td>`, "ssh: session closed; reconnect: dial fw1: connection refused",
		`<code>env:PANOS_API_KEY</code>`,
		// Evidence: step, field, values.
		// A running total: where it started, its changes and their sum.
		`<td><code>flow</code></td><td><code>encap_packets</code></td><td class="mono">from 388k: &#43;67, &#43;101, &#43;89 (change &#43;257)</td>`,
		`<td><code>resources</code></td><td><code>cpu_max</code></td><td class="mono">41 → 78 → 93 → 88</td>`,
		`<td><code>sa</code></td><td><span class="muted">(whole output)</span></td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestFindingsMostSevereFirst(t *testing.T) {
	page := render(t, fixedManifest(t))
	crit := strings.Index(page, "<code>decap-flat</code>")
	warn := strings.Index(page, "<code>cpu-hig")
	info := strings.Index(page, "<code>sa-present</code>")
	if crit < 0 || warn < 0 || info < 0 || !(crit < warn && warn < info) {
		t.Errorf("findings at %d (critical), %d (warning), %d (info): want most severe first", crit, warn, info)
	}
}

func TestPendingCleanupBox(t *testing.T) {
	m := fixedManifest(t)
	page := render(t, m)
	box := `<section class="loud" id="cleanup-pending">`
	if !strings.Contains(page, box) || !strings.Contains(page, "<pre>debug ike global on normal\n</pre>") {
		t.Errorf("no loud box with the pending command")
	}
	if !strings.Contains(page, "runbook cleanup RUNDIR") {
		t.Errorf("the box does not say how to finish")
	}
	if strings.Index(page, box) > strings.Index(page, `id="findings"`) {
		t.Errorf("the pending-cleanup box is not at the top")
	}
	m.CleanupPending = nil
	m.ExitCode = 1
	if page := render(t, m); strings.Contains(page, "cleanup-pending") || strings.Contains(page, "Not undone") {
		t.Errorf("a clean run shows the pending-cleanup box")
	}
}

// TestResultBadge pins the result line of a clean run: a green "ok" only
// when no critical or warning finding fired, then the state of the
// cleanup.
func TestResultBadge(t *testing.T) {
	ok := []engine.CleanupRecord{{Command: "debug ike pcap off", Status: "ok"}}
	byStep := []engine.CleanupRecord{{Command: "debug ike pcap off", Status: "ok", DoneBy: 7, Note: "done by the playbook's own step"}}
	cases := []struct {
		findings []engine.FindingRecord
		undo     []engine.CleanupRecord
		exit     int
		want     string
	}{
		{nil, nil, 0, `<span class="result res-ok">ok</span> <span class="st-ok">nothing to undo</span> <span class="muted">(exit code 0)</span>`},
		{[]engine.FindingRecord{{ID: "i", Severity: "info"}}, ok, 0, `<span class="result res-ok">done, 1 info finding</span> <span class="st-ok">cleanup done (1 sent at cleanup)</span>`},
		{[]engine.FindingRecord{{ID: "w", Severity: "warning"}}, byStep, 0, `<span class="result res-warn">done, 1 warning finding</span> <span class="st-ok">cleanup done (1 undone by the playbook&#39;s own steps)</span>`},
		{[]engine.FindingRecord{{ID: "w", Severity: "warning"}, {ID: "c", Severity: "critical"}}, append(ok, byStep...), 5,
			`<span class="result res-bad">done, 1 critical and 1 warning findings</span> <span class="st-ok">cleanup done (1 sent at cleanup, 1 undone by the playbook&#39;s own steps)</span> <span class="muted">(exit code 5)</span>`},
		{nil, []engine.CleanupRecord{{Command: "x", Status: "failed"}}, 1, `<span class="st-bad">cleanup: 1 failed</span>`},
	}
	for _, c := range cases {
		m := fixedManifest(t)
		m.Status, m.ExitCode, m.CleanupPending, m.Findings, m.Undo, m.Cleanup = "ok", c.exit, nil, c.findings, c.undo, nil
		if page := render(t, m); !strings.Contains(page, c.want) {
			t.Errorf("%d findings: page lacks %q", len(c.findings), c.want)
		}
	}
}

// TestUndoDoneByTheStep: an undo the playbook's own step sent reads as
// done once, by that step, not as a second command sent at cleanup.
func TestUndoDoneByTheStep(t *testing.T) {
	m := fixedManifest(t)
	m.Undo = []engine.CleanupRecord{{Command: "debug ike pcap off", Status: "ok", DoneBy: 17, Note: "done by the playbook's own step"}}
	m.Cleanup, m.CleanupPending, m.ExitCode = nil, nil, 1
	page := render(t, m)
	want := `<td class="s">undo</td><td class="cmd"><code>debug ike pcap off</code></td><td class="st st-ok">done by step 17<span class="note">not sent again</span></td><td class="o"></td>`
	if !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
	if strings.Contains(page, "sent at cleanup") {
		t.Error("the result line counts the undo as sent at cleanup")
	}
}

func TestFindingMessageEscaped(t *testing.T) {
	m := fixedManifest(t)
	m.Findings[0].Message = `<script>alert("pwned")</script> & more`
	page := render(t, m)
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Fatal("a finding message reached the page unescaped")
	}
	if !strings.Contains(page, `&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; more`) {
		t.Error("the escaped message is not shown")
	}
}

// inject replaces every string reachable from v (struct fields, slices,
// []any values, map keys and values) with a distinct piece of markup.
func inject(v reflect.Value, n *int) {
	next := func() string {
		*n++
		return fmt.Sprintf(`<x-inj-%d onload="x()">'&"`, *n)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Interface {
			if v.Elem().Kind() == reflect.String && v.CanSet() {
				v.Set(reflect.ValueOf(next()))
			}
			return
		}
		inject(v.Elem(), n)
	case reflect.String:
		if v.CanSet() {
			v.SetString(next())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			inject(v.Field(i), n)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			inject(v.Index(i), n)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		fresh := reflect.MakeMap(v.Type())
		iter := v.MapRange()
		for iter.Next() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(iter.Value())
			if val.Kind() == reflect.String || val.Kind() == reflect.Interface {
				val.Set(reflect.ValueOf(next()).Convert(v.Type().Elem()))
			}
			fresh.SetMapIndex(reflect.ValueOf(next()), val)
		}
		v.Set(fresh)
	}
}

func TestEveryStringEscaped(t *testing.T) {
	m := fixedManifest(t)
	n := 0
	inject(reflect.ValueOf(m), &n)
	if n < 100 {
		t.Fatalf("only %d strings injected: the walk missed the manifest", n)
	}
	page := render(t, m)
	if i := strings.Index(page, "<x-inj"); i >= 0 {
		t.Fatalf("an injected string reached the page unescaped: %s", page[i:min(len(page), i+80)])
	}
	if strings.Contains(page, `onload="x()"`) {
		t.Fatal("an injected attribute reached the page")
	}
	shown := regexp.MustCompile(`&lt;x-inj-(\d+) onload=&#34;x\(\)&#34;&gt;&#39;&amp;&#34;`).FindAllString(page, -1)
	if len(shown) < 60 {
		t.Errorf("only %d of %d injected strings shown escaped: a field is missing from the page", len(shown), n)
	}
	assertSelfContained(t, page)
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

func TestOnlyRunFolderPathsLinked(t *testing.T) {
	m := fixedManifest(t)
	bad := []string{"javascript:alert(1)", "../../etc/passwd", "https://example.com/x", "/etc/passwd", "steps/../../x", "steps/a b"}
	for i, p := range bad {
		m.Steps[i].Output = p
	}
	m.Artifacts[0].Path = "file:///etc/shadow"
	m.Undo[0].Output = "http://example.com/"
	page := render(t, m)
	safe := regexp.MustCompile(`^(steps|artifacts)/[A-Za-z0-9._-]+$`)
	for _, h := range hrefRE.FindAllStringSubmatch(page, -1) {
		if !safe.MatchString(h[1]) && h[1] != "manifest.json" && h[1] != "summary.md" && h[1] != "steps/" {
			t.Errorf("href %q links outside the run folder", h[1])
		}
	}
	if !strings.Contains(page, `<a href="steps/007-flow.txt">`) {
		t.Error("an ordinary step output is not linked")
	}
	if !strings.Contains(page, `<td class="o">javascript:alert(1)</td>`) {
		t.Error("an unlinkable output is not shown as text")
	}
}

func TestCharts(t *testing.T) {
	page := render(t, fixedManifest(t))
	if got := strings.Count(page, `<figure class="chart">`); got != 5 {
		t.Errorf("%d charts, want one per series (5)", got)
	}
	for _, want := range []string{
		// A running total (show vpn flow tunnel-id): its change over each
		// interval (10s apart), with rates.
		`<b>encap_packets</b>: change over each interval (running total)<br>&#43;257 over 30s (8.57/s); running total 388k → 388k</figcaption>`,
		`<title>10:02:31 → 10:02:41: &#43;67 (6.7/s)</title>`,
		`text-anchor="middle">&#43;101</text>`,
		// decap_packets moved by 4 then stood still: zero bars say so.
		`<b>decap_packets</b>: change over each interval (running total)<br>&#43;4 over 30s (0.133/s); running total 1.48M → 1.48M</figcaption>`,
		`text-anchor="middle">0</text>`,
		// A level (resource monitor): a line of its values, the axis from 0.
		`<b>cpu_avg</b>: value at each sample<br>values 22.5, 39.3, 51, 47.8</figcaption>`,
		`<polyline class="line"`,
		// Axis labels: y ticks in the page's format, run times under the plot.
		`text-anchor="end">0</text>`, `text-anchor="end">100</text>`,
		`text-anchor="middle">10:02:41</text>`, `text-anchor="end">10:03:01</text>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("charts lack %q", want)
		}
	}
}

// TestEvidenceChartsFirst: the charts a finding rests on are drawn in its
// box, labelled with it, before the other samples; a series drawn beside a
// finding is not drawn again.
func TestEvidenceChartsFirst(t *testing.T) {
	page := render(t, fixedManifest(t))
	finding := strings.Index(page, "<code>decap-flat</code>")
	evidence := strings.Index(page, `<title id="chart-1-t">decap-flat (critical): flow: encap_packets</title>`)
	evidence2 := strings.Index(page, `<title id="chart-2-t">decap-flat (critical): flow: decap_packets</title>`)
	others := strings.Index(page, `<section id="samples">`)
	if finding < 0 || evidence < finding || evidence2 < evidence || others < evidence2 {
		t.Errorf("finding at %d, its charts at %d and %d, the other samples at %d: want the finding's charts in its box, first", finding, evidence, evidence2, others)
	}
	if strings.Contains(page[others:], "<b>encap_packets</b>") {
		t.Error("a chart beside a finding is drawn again among the other samples")
	}
	if !strings.Contains(page[others:], "<b>packet_buffer</b>") {
		t.Error("a series no finding names is not among the other samples")
	}
}

// TestChartViews: each kind of series is drawn its own way, and
// bookkeeping fields are not drawn unless a finding names them.
func TestChartViews(t *testing.T) {
	m := fixedManifest(t)
	ts := m.Series[0].Times[:3]
	m.Steps = append(m.Steps,
		engine.StepRecord{Seq: 30, ID: "counters", Kind: "run", Command: "show counter global filter delta yes packet-filter yes", Run: 1, Status: "ok"},
		engine.StepRecord{Seq: 31, ID: "totals", Kind: "run", Command: "show counter global", Run: 1, Status: "ok"},
	)
	m.Series = []engine.SeriesRecord{
		// delta yes: every sample is already a change. Drawn as it is;
		// never a difference of two samples (-3, +2 here).
		{Step: "counters", Field: "pkt_sent", Kind: engine.SeriesDelta, Values: []float64{36, 33, 35}, Times: ts},
		// The same with no kind recorded: the command says delta yes.
		{Step: "counters", Field: "flow_tunnel_decap_pkt", Values: []float64{67, 36, 33}, Times: ts},
		{Step: "counters", Field: "elapsed_seconds", Kind: engine.SeriesDelta, Values: []float64{4, 2, 2}, Times: ts},
		{Step: "counters", Field: "count", Kind: engine.SeriesDelta, Values: []float64{12, 14, 13}, Times: ts},
		{Step: "counters", Field: "drops", Kind: engine.SeriesDelta, Values: []float64{0, 0, 0}, Times: ts},
		{Step: "totals", Field: "pkt_recv", Kind: engine.SeriesCumulative, Values: []float64{2160195281.5, 2160295281.5, 2160595281.5}, Times: ts},
		{Step: "flow", Field: "lifetime_remain", Kind: engine.SeriesCumulative, Values: []float64{25922, 25921, 25920}, Times: ts},
		// A running total that restarted (a new SA): counted from 0, never
		// a drop of two billion.
		{Step: "flow", Field: "decap_bytes", Kind: engine.SeriesCumulative, Values: []float64{2108380648, 48000, 96000}, Times: ts},
		{Step: "flow", Field: "gateway_id", Kind: engine.SeriesCumulative, Values: []float64{1, 2, 3}, Times: ts},
		{Step: "resources", Field: "cpu", Kind: engine.SeriesGauge, Values: []float64{0.1, 0.365, -0.265000000000001}, Times: ts},
	}
	m.Findings = []engine.FindingRecord{{ID: "clock", Severity: "info", Message: "m",
		Evidence: []engine.EvidenceRecord{{Step: "flow", Field: "lifetime_remain", Values: []any{25922.0, 25921.0, 25920.0}}}}}
	page := render(t, m)
	for _, want := range []string{
		`<b>pkt_sent</b>: change since the sample before, as the device counts it (delta yes)<br>per sample 36, 33, 35; total 104 in 3 samples`,
		`<title>10:02:31: 36</title>`, `text-anchor="middle">33</text>`,
		`<b>flow_tunnel_decap_pkt</b>: change since the sample before, as the device counts it (delta yes)<br>per sample 67, 36, 33; total 136 in 3 samples`,
		`Unchanged: <code>drops 0 in every sample</code>.`,
		`<b>pkt_recv</b>: change over each interval (running total)<br>&#43;400k over 20s (20k/s); running total 2.16G → 2.16G`,
		`text-anchor="end">300k</text>`,
		`<b>cpu</b>: value at each sample<br>values 0.1, 0.365, -0.265`,
		`<b>decap_bytes</b>: change over each interval (running total)<br>&#43;96k over 20s (4.8k/s); running total 2.11G → 96k; it restarted from 0 before 10:02:41 (a rekey or a clear): that interval counts its new value`,
		`<rect class="bar restart"`, `<title>10:02:31 → 10:02:41: &#43;48000 (4.8k/s), counted from 0: the counter restarted</title>`,
		// A bookkeeping field a finding names is drawn beside it.
		`<b>lifetime_remain</b>: change over each interval (running total)`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<b>elapsed_seconds</b>", "<b>count</b>", "<b>gateway_id</b>", ">-3<", ": -3", "2160195281", "0.265000", "e&#43;", "-2.11G", "bar down"} {
		if i := strings.Index(page[strings.Index(page, `id="findings"`):strings.Index(page, `id="timeline"`)], bad); i >= 0 {
			t.Errorf("the findings and charts show %q: %s", bad, page[strings.Index(page, `id="findings"`)+max(0, i-80):][:160])
		}
	}
}

func TestChartEdgeCases(t *testing.T) {
	m := fixedManifest(t)
	ts := m.Series[0].Times
	m.Series = []engine.SeriesRecord{
		{Step: "a", Field: "flat", Values: []float64{5, 5, 5}, Times: ts[:3]},
		{Step: "a", Field: "one", Values: []float64{7}},
		{Step: "a", Field: "none"},
		{Step: "a", Field: "nan", Values: []float64{1, math.NaN(), 3, math.Inf(1)}, Times: ts},
		{Step: "b", Field: "many", Values: make([]float64, 50)},
	}
	for i := range m.Series[4].Values {
		m.Series[4].Values[i] = float64(i * i)
	}
	page := render(t, m)
	for _, bad := range []string{"NaN", "Inf"} {
		if regexp.MustCompile(`="[^"]*` + bad).MatchString(page) {
			t.Errorf("an SVG attribute holds %s", bad)
		}
	}
	for _, want := range []string{"no numeric samples", "(non-numeric samples left out)", "#50</text>",
		"Unchanged: <code>flat stayed at 5</code>.", "<b>one</b>: value at each sample<br>values 7"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := strings.Count(page, `<figure class="chart">`); got != 4 {
		t.Errorf("%d charts, want 4 (flat is not drawn)", got)
	}
}

func TestNilManifest(t *testing.T) {
	var b bytes.Buffer
	if err := report.HTML(&b, nil); err == nil || err.Error() != "report: no manifest" {
		t.Errorf("err = %v", err)
	}
}

// engineRun runs the engine's test playbook against its cassette: a real
// run folder.
func engineRun(t *testing.T) *engine.Result {
	t.Helper()
	pb, err := playbook.Load("testdata/basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/basic-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(map[string]string{"tunnel": "sap-sap"})
	if err != nil {
		t.Fatal(err)
	}
	r := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Source: "file testdata/basic.yaml", Params: params,
		Target: "fw1", Transport: "replay", Dir: filepath.Join(t.TempDir(), "run"), Yes: true,
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{}), nil
		},
	})
	res := r.Run(context.Background())
	if res.ExitCode != engine.ExitOK {
		t.Fatalf("run: exit %d: %v", res.ExitCode, res.Err)
	}
	return res
}

// cassetteWithFindings is the shipped cassette whose report the golden
// and the browser tests show: a critical and a warning finding on the
// flow counters, and undo commands the playbook's own steps sent.
const cassetteWithFindings = "phase2-down-tunnel-errors"

// cassetteRun replays the shipped cassette name with its built-in
// playbook, the parameters recorded in it and a fixed clock: the same run
// folder every time.
func cassetteRun(t *testing.T, name string) *engine.Result {
	t.Helper()
	c, err := examples.Cassette(name)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbooks.Load(c.Playbook)
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(c.Params)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 10, 2, 30, 0, time.UTC)
	var out strings.Builder
	res := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Source: "built-in " + c.Playbook, Params: params,
		Target: c.Target.Name, Transport: "replay", Dir: filepath.Join(t.TempDir(), "run"), Yes: true, Observer: observe.NewText(&out, false),
		Now: func() time.Time { return start },
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{Mode: replay.Strict}), nil
		},
	}).Run(context.Background())
	if res.Err != nil || len(res.Manifest.Findings) < 2 {
		t.Fatalf("replay of %s: exit %d, %d findings: %v\n%s", name, res.ExitCode, len(res.Manifest.Findings), res.Err, out.String())
	}
	return res
}

// TestGoldenCassette pins the report of a shipped cassette's run.
func TestGoldenCassette(t *testing.T) {
	res := cassetteRun(t, cassetteWithFindings)
	m, err := engine.ReadManifest(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, m)
	assertSelfContained(t, got)
	golden := filepath.Join("testdata", cassetteWithFindings+".golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("report.html differs from %s at line %d (go test ./report -update rewrites it):\n got %q\nwant %q", golden, i+1, g, w)
			}
		}
	}
	// What the page is for: the result line with findings and cleanup,
	// the findings' charts first, no bookkeeping charted.
	for _, want := range []string{
		`<span class="result res-bad">done, 1 critical and 1 warning findings</span> <span class="st-ok">cleanup done (3 undone by the playbook&#39;s own steps)</span>`,
		`<title id="chart-1-t">auth-errors (critical): flow item 207: authentication_errors</title>`,
		fmt.Sprintf(`done by step %d<span class="note">not sent again</span>`, firstDoneBy(res.Manifest)),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<b>lifetime_remain</b>", "<b>latest_rekey</b>"} {
		if strings.Contains(got, bad) {
			t.Errorf("report charts bookkeeping: %s", bad)
		}
	}
}

func TestWriteDirOnARealRun(t *testing.T) {
	res := engineRun(t)
	if err := report.WriteDir(res.Dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	assertSelfContained(t, page)
	for _, want := range []string{"<code>decap-flat</code>", "Packets are encrypted but none decrypted.",
		`<figure class="chart">`, "encap_packets", "Fri Nov 27 10:02:33 UTC 2026", "debug ike pcap off"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every link resolves inside the run folder.
	links := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 5 {
		t.Fatalf("only %d links", len(links))
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(res.Dir, l[1])); err != nil {
			t.Errorf("link %q: %v", l[1], err)
		}
	}
	// Write is atomic: no temporary file left behind.
	ents, _ := os.ReadDir(res.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

func TestWriteDirNoManifest(t *testing.T) {
	if err := report.WriteDir(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

// FuzzHTML feeds arbitrary strings and numbers into the fields a device or
// a playbook controls: the page always renders and never gains markup,
// code or an outside reference.
func FuzzHTML(f *testing.F) {
	f.Add("<script>alert(1)</script>", "show clock", "encap_packets", "javascript:x()", 1.5, -3.0)
	f.Add("a]]></title><svg onload=x()>", `"'&<>`, "</style><p>", "steps/../x", math.MaxFloat64, 0.0)
	base, err := engine.ReadManifest("testdata")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg, cmd, field, out string, v1, v2 float64) {
		m := *base
		m.Findings = append([]engine.FindingRecord(nil), base.Findings...)
		m.Findings[0].Message = msg
		m.Findings[0].Evidence = []engine.EvidenceRecord{{Step: cmd, Field: field, Values: []any{msg, v1, nil}}}
		m.Steps = append([]engine.StepRecord(nil), base.Steps...)
		m.Steps[0].Command, m.Steps[0].Output, m.Steps[0].Error = cmd, out, msg
		m.Series = []engine.SeriesRecord{{Step: cmd, Field: field, Values: []float64{v1, v2, v1}}}
		m.Notes = []string{msg}
		m.Target.Facts = map[string]string{field: msg}
		page := render(t, &m)
		// A URL written out as text is fine; one in a tag or the
		// stylesheet is not.
		for _, p := range outsideRefs(page) {
			t.Errorf("%s", p)
		}
	})
}

// TestWriteDirNeverShowsSecrets: a secret parameter interpolated into a
// command is redacted in manifest.json, so the report WriteDir makes from
// it never shows the value (the engine's in-memory manifest still holds
// it: pass WriteDir, not Result.Manifest).
func TestWriteDirNeverShowsSecrets(t *testing.T) {
	const value = "hunter2-sekrit"
	pb, err := playbook.Load("testdata/secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/secret-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(map[string]string{"key": "env:RB_TEST_KEY"})
	if err != nil {
		t.Fatal(err)
	}
	res := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Source: "file testdata/secret.yaml", Params: params,
		Target: "fw1", Transport: "replay", Dir: filepath.Join(t.TempDir(), "run"), Yes: true,
		Secrets: &secret.Resolver{Getenv: func(name string) string {
			if name == "RB_TEST_KEY" {
				return value
			}
			return ""
		}},
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{}), nil
		},
	}).Run(context.Background())
	if res.ExitCode != engine.ExitOK {
		t.Fatalf("run: exit %d: %v", res.ExitCode, res.Err)
	}
	if err := report.WriteDir(res.Dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), value) {
		t.Fatal("report.html shows the secret")
	}
	if !strings.Contains(string(b), "request license api-key set key ") {
		t.Error("the command is not in the report")
	}
}

// TestChartsPerItem: a for_each step's series are drawn per item, each
// group headed by its item and the command run for it; the timeline and
// the evidence name the item of each run.
func TestChartsPerItem(t *testing.T) {
	m := fixedManifest(t)
	ts := m.Series[0].Times[:2]
	m.Steps = append(m.Steps,
		engine.StepRecord{Seq: 90, ID: "pid", Kind: "run", Command: "show vpn flow tunnel-id 207", Item: "207", Run: 1, Status: "ok", Output: "steps/090-pid-207.txt"},
		engine.StepRecord{Seq: 91, ID: "pid", Kind: "run", Command: "show vpn flow tunnel-id 208", Item: "208", Run: 1, Status: "ok", Output: "steps/091-pid-208.txt"},
	)
	m.Series = []engine.SeriesRecord{
		{Step: "pid", Item: "207", Field: "encap_packets", Values: []float64{1, 2}, Times: ts},
		{Step: "pid", Item: "208", Field: "encap_packets", Values: []float64{5, 9}, Times: ts},
		{Step: "pid", Item: "208", Field: "decap_packets", Values: []float64{0, 3}, Times: ts},
	}
	m.Findings = []engine.FindingRecord{{ID: "one-way", Severity: "warning", Message: "m",
		Evidence: []engine.EvidenceRecord{{Step: "pid", Item: "208", Field: "decap_packets", Values: []any{0, 0}}}}}
	page := render(t, m)
	for _, want := range []string{
		`<h3>Step <code>pid</code>, item <code>207</code>: <code>show vpn flow tunnel-id 207</code> <span class="muted">(2 runs)</span></h3>`,
		`<h3>Step <code>pid</code>, item <code>208</code>: <code>show vpn flow tunnel-id 208</code> <span class="muted">(2 runs)</span></h3>`,
		`-t">one-way (warning): pid item 208: decap_packets</title>`,
		`<td class="s"><code>pid</code> <span class="muted">run #1</span> <span class="muted">item 208</span></td>`,
		`<td><code>pid</code> <span class="muted">item 208</span></td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := strings.Count(page, "<h3>Step <code>pid</code>"); got != 2 {
		t.Errorf("%d chart groups for step pid, want one per item (2)", got)
	}
}

// firstDoneBy is the step that did the first undo the playbook did itself.
func firstDoneBy(m *engine.Manifest) int {
	for _, u := range m.Undo {
		if u.DoneBy > 0 {
			return u.DoneBy
		}
	}
	return -1
}

// TestWriteDirIsHTML: WriteDir, which reads the steps once and copies
// their rows, writes the page Write (HTML) writes of the same manifest: with
// series (whose charts name their step's command), and with steps over
// several transports (each row names its own), which it reads again for.
func TestWriteDirIsHTML(t *testing.T) {
	several := fixedManifest(t)
	for i := range several.Steps {
		several.Steps[i].Transport = []string{"ssh", "xmlapi"}[i%2]
	}
	noSeries := fixedManifest(t)
	noSeries.Series = nil
	for name, m := range map[string]*engine.Manifest{"series": fixedManifest(t), "several transports": several, "no series": noSeries} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, report.FileName))
			if err != nil {
				t.Fatal(err)
			}
			back, err := runfolder.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := report.Write(dir, back); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, report.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("WriteDir wrote %d bytes, Write %d: they differ", len(got), len(want))
			}
			if name == "several transports" && !strings.Contains(string(got), "via xmlapi") {
				t.Error("no row names its transport")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestMissingEvidence: the missing evidence of a failed step says what
// the device said; that of a run stopped in a pause (nothing sent, no
// step id) is named by its command and says what happened, under the
// words summary.md uses for steps the run was stopped in.
func TestMissingEvidence(t *testing.T) {
	m := fixedManifest(t)
	m.Missing = []engine.MissingRecord{{Seq: 4, Kind: "run", Command: "show x", Status: "failed", Error: "no", ByHand: "Run x."}}
	page := render(t, m)
	for _, want := range []string{"These steps failed and the run went on; take what they would have given by hand.",
		`<li><strong>step 4</strong>: <code>show x</code> (failed)<span class="note">the device said: no</span><span class="note">by hand: Run x.</span></li>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	m.Missing = append(m.Missing, engine.MissingRecord{Kind: "run", Run: 2, Command: "show clock", Status: "interrupted", Error: "cut short", ByHand: "Run it."})
	page = render(t, m)
	for _, want := range []string{"or the run was stopped before they were done (killed while they ran, or in the pause between their runs)",
		`<li><strong>&#34;show clock&#34; (run 2)</strong>: <code>show clock</code> (interrupted)<span class="note">what happened: cut short</span><span class="note">by hand: Run it.</span></li>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestEvidenceWholeOutput: an evidence entry that names no field links
// the step's output files (a path that is not a file of the folder is
// shown, not linked).
func TestEvidenceWholeOutput(t *testing.T) {
	m := fixedManifest(t)
	m.Findings = []engine.FindingRecord{{ID: "peer-unreachable", Severity: "warning", Message: "m",
		Evidence: []engine.EvidenceRecord{{Step: "ping", Outputs: []string{"steps/001-ping.txt", "../x.txt"}}}}}
	page := render(t, m)
	want := `<span class="muted">(whole output)</span></td><td class="mono"><a href="steps/001-ping.txt">steps/001-ping.txt</a>, ../x.txt</td>`
	if !strings.Contains(page, want) {
		i := strings.Index(page, "peer-unreachable")
		t.Errorf("the evidence row lacks %q:\n%s", want, page[i:min(len(page), i+900)])
	}
}
