package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// FileName is the name of the report in a run folder.
const FileName = "report.html"

//go:embed report.html.tmpl
var pageSrc string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(pageSrc))

// HTML writes the report of m to w. Links to step outputs are relative to
// the run folder, so the page belongs beside manifest.json.
func HTML(w io.Writer, m *engine.Manifest) error {
	return render(w, m, "")
}

// Write writes report.html into the run folder dir, atomically. Pass the
// manifest as written to disk (ReadManifest, or WriteDir): the engine
// redacts secrets when it writes manifest.json, not in memory.
func Write(dir string, m *engine.Manifest) error {
	var b bytes.Buffer
	if err := render(&b, m, dir); err != nil {
		return err
	}
	if err := engine.WriteFileAtomic(filepath.Join(dir, FileName), b.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WriteDir reads the run folder's manifest.json (redacted by the engine)
// and writes report.html beside it. Call it again after `runbook cleanup`
// changed the manifest.
func WriteDir(dir string) error {
	m, err := engine.ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return Write(dir, m)
}

func render(w io.Writer, m *engine.Manifest, dir string) error {
	if m == nil {
		return fmt.Errorf("report: no manifest")
	}
	var b bytes.Buffer
	if err := page.Execute(&b, build(m, dir)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// view is what the template shows: every value precomputed, every class
// name chosen from a fixed set.
type view struct {
	M           *engine.Manifest
	ResultClass string
	// Result is the run's outcome in words (engine.Outcome).
	Result     string
	Started    string
	Ended      string
	Duration   string
	SHA256     string
	Facts      []kv
	Params     []kv
	Findings   []findingView
	Groups     []chartGroup
	Steps      []stepView
	Cleanup    []cleanupView
	CleanupCmd string
	Files      []fileView
}

type kv struct{ K, V string }

type findingView struct {
	ID, Severity, Message, Class string
	Evidence                     []evidenceView
}

type evidenceView struct{ Step, Item, Field, Values string }

type stepView struct {
	Seq, Time, ID, Kind, Text, Status, Class, Error, Note string
	Item                                                  string // of a for_each step's run
	Output                                                string
	// Via is the transport of the step, shown when the run used several.
	Via  string
	Link bool
}

type cleanupView struct {
	Kind, Command, Status, Class, Error, Output string
	Link                                        bool
}

type fileView struct {
	Path, Size, SHA256, What string
	Link                     bool
}

func build(m *engine.Manifest, dir string) view {
	v := view{
		M:           m,
		ResultClass: resultClass(m),
		Result:      engine.Outcome(m.Status, m.ExitCode, m.Findings),
		Started:     fmtTime(m.Started),
		Ended:       fmtTime(m.Ended),
		SHA256:      m.Playbook.SHA256,
	}
	if !m.Started.IsZero() && m.Ended.After(m.Started) {
		v.Duration = m.Ended.Sub(m.Started).Round(time.Second).String()
	}
	v.Facts = facts(m.Target.Facts)
	v.Params = params(m.Params)
	for _, f := range sortedFindings(m.Findings) {
		fv := findingView{ID: f.ID, Severity: f.Severity, Message: f.Message, Class: severityClass(f.Severity)}
		for _, e := range f.Evidence {
			fv.Evidence = append(fv.Evidence, evidenceView{Step: e.Step, Item: e.Item, Field: e.Field, Values: fmtValues(e.Values)})
		}
		v.Findings = append(v.Findings, fv)
	}
	v.Groups = chartGroups(m)
	several := len(engine.StepTransports(m)) > 1
	for _, s := range m.Steps {
		sv := stepView{ID: s.ID, Kind: s.Kind, Item: s.Item, Text: s.Command, Status: s.Status, Class: statusClass(s.Status),
			Error: s.Error, Note: s.Note, Output: s.Output, Link: linkable(s.Output)}
		if several {
			sv.Via = s.Transport
		}
		if s.Seq > 0 {
			sv.Seq = strconv.Itoa(s.Seq)
		}
		if !s.Start.IsZero() {
			sv.Time = s.Start.UTC().Format("15:04:05")
		}
		if sv.Text == "" {
			sv.Text, sv.Note = s.Note, ""
		}
		if s.Run > 0 {
			sv.Kind = fmt.Sprintf("%s #%d", s.Kind, s.Run)
		}
		v.Steps = append(v.Steps, sv)
	}
	add := func(kind string, recs []engine.CleanupRecord) {
		for _, c := range recs {
			v.Cleanup = append(v.Cleanup, cleanupView{Kind: kind, Command: c.Command, Status: c.Status,
				Class: statusClass(c.Status), Error: c.Error, Output: c.Output, Link: linkable(c.Output)})
		}
	}
	add("undo", m.Undo)
	add("cleanup", m.Cleanup)
	v.CleanupCmd = "runbook cleanup RUNDIR"
	if dir != "" {
		v.CleanupCmd = "runbook cleanup " + dir
	}
	v.Files = []fileView{
		{Path: "manifest.json", What: "what ran, every step, the findings", Link: true},
		{Path: "summary.md", What: "this report as text, ready to paste", Link: true},
		{Path: FileName, What: "this page"},
		{Path: "steps/", What: "the output of every command", Link: true},
	}
	for _, a := range m.Artifacts {
		v.Files = append(v.Files, fileView{Path: a.Path, Size: engine.FormatBytes(a.Size), SHA256: a.SHA256,
			What: a.Category, Link: linkable(a.Path)})
	}
	return v
}

// sortedFindings orders findings most severe first, keeping the manifest's
// order within a severity.
func sortedFindings(f []engine.FindingRecord) []engine.FindingRecord {
	out := append([]engine.FindingRecord(nil), f...)
	sort.SliceStable(out, func(i, j int) bool { return severityRank(out[i].Severity) < severityRank(out[j].Severity) })
	return out
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "warning":
		return 1
	case "info":
		return 2
	}
	return 3
}

func severityClass(s string) string {
	switch s {
	case "critical", "warning", "info":
		return "sev-" + s
	}
	return "sev-other"
}

func statusClass(s string) string {
	switch s {
	case "ok", "continued", "auto-continued", "timed-out-continued":
		return "st-ok"
	case "skipped":
		return "st-skip"
	case "failed", "timeout", "interrupted", "aborted", "pending":
		return "st-bad"
	}
	return "st-other"
}

func resultClass(m *engine.Manifest) string {
	switch {
	case len(m.CleanupPending) > 0, m.Status != "ok":
		return "res-bad"
	}
	// A clean run is green only when no critical or warning finding fired.
	class := "res-ok"
	for _, f := range m.Findings {
		switch f.Severity {
		case "critical":
			return "res-bad"
		case "warning":
			class = "res-warn"
		}
	}
	return class
}

// factOrder is the facts shown first, as in summary.md.
var factOrder = []string{"hostname", "model", "serial", "sw_version"}

func facts(f map[string]string) []kv {
	var out []kv
	for _, k := range factOrder {
		if v, ok := f[k]; ok {
			out = append(out, kv{k, v})
		}
	}
	var rest []string
	for k := range f {
		if !contains(factOrder, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, kv{k, f[k]})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func params(p map[string]any) []kv {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]kv, len(keys))
	for i, k := range keys {
		out[i] = kv{k, fmtValue(p[k])}
	}
	return out
}

// safeRel is the shape of the paths the engine writes into a run folder.
var safeRel = regexp.MustCompile(`^(steps|artifacts)/[A-Za-z0-9._-]+$`)

// linkable reports whether p may be linked: a file inside steps/ or
// artifacts/, never a URL or a path out of the run folder.
func linkable(p string) bool {
	return safeRel.MatchString(p) && !strings.Contains(p, "..")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtValues(v []any) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmtValue(x)
	}
	return strings.Join(parts, " → ")
}

func fmtValue(x any) string {
	switch n := x.(type) {
	case nil:
		return "(none)"
	case float64:
		return fmtNum(n)
	case float32:
		return fmtNum(float64(n))
	case int:
		return strconv.Itoa(n)
	case int64:
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprint(x)
}

// fmtNum prints a number without an exponent, to 15 significant digits:
// exact for counters, and free of float noise in differences
// (1.001 - 0.001 prints 1, not 1.0000000000000002).
func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// fmtShort prints a number in at most about six characters, for axes.
func fmtShort(v float64) string {
	a := math.Abs(v)
	trim := func(s string) string {
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	switch {
	case a >= 1e12:
		return trim(strconv.FormatFloat(v/1e12, 'f', 1, 64)) + "T"
	case a >= 1e9:
		return trim(strconv.FormatFloat(v/1e9, 'f', 1, 64)) + "G"
	case a >= 1e6:
		return trim(strconv.FormatFloat(v/1e6, 'f', 2, 64)) + "M"
	case a >= 1e4:
		return trim(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return trim(strconv.FormatFloat(v, 'f', 2, 64))
}
