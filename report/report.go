package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/words"
	"github.com/runbook-dev/runbook/runfolder"
)

// FileName is the name of the report in a run folder.
const FileName = "report.html"

//go:embed report.html.tmpl
var pageSrc string

// rowsMark is where the timeline's rows go in the page: the page is
// written as the template before it (pageHead), the rows (each
// stepView.Row and a newline), then the template after it (pageTail), so
// the rows can come from anywhere (a file written while the steps were
// read).
const rowsMark = "{{range .Steps}}{{.Row}}\n{{end}}"

var pageHead, pageTail = splitPage(pageSrc)

func splitPage(src string) (head, tail *template.Template) {
	h, t, ok := strings.Cut(src, rowsMark)
	if !ok {
		panic("report: the page has no timeline rows")
	}
	// One set: the templates either half defines are the other's too.
	head = template.Must(template.New("report").Funcs(template.FuncMap{"upper": strings.ToUpper}).Parse(h))
	tail = template.Must(head.New("report-tail").Parse(t))
	return head, tail
}

// HTML writes the report of m to w. Links to step outputs are relative to
// the run folder, so the page belongs beside manifest.json.
func HTML(w io.Writer, m *engine.Manifest) error {
	if m == nil {
		return fmt.Errorf("report: no manifest")
	}
	var b bytes.Buffer
	if err := renderSteps(&b, m, "", stepsOf(m)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Write writes report.html into the run folder dir, atomically. Pass the
// manifest as written to disk (ReadManifest, or WriteDir): the engine
// redacts secrets when it writes manifest.json, not in memory.
func Write(dir string, m *engine.Manifest) error {
	if m == nil {
		return fmt.Errorf("report: no manifest")
	}
	return write(dir, func(w io.Writer) error { return renderSteps(w, m, dir, stepsOf(m)) })
}

// WriteDir reads the run folder's manifest.json (redacted by the engine)
// and writes report.html beside it. Call it again after `runbook cleanup`
// changed the manifest. The steps are streamed from the file, so its
// footprint does not grow with the run: read once, their rows written to
// a temporary file in dir as they are read (the page needs what the
// manifest says after them before its timeline), then copied into the
// page. They are read again only when the page needs more of them: the
// command of each step a chart is drawn of, and each row's transport when
// the steps went over several.
func WriteDir(dir string) error {
	rows, err := os.CreateTemp(dir, ".tmp-rows-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		rows.Close()
		os.Remove(rows.Name())
	}()
	bw := bufio.NewWriterSize(rows, 64<<10)
	var transports []string
	m, err := scanAhead(dir, func(batch []engine.StepRecord) error {
		for i := range batch {
			addTransport(&transports, batch[i].Transport)
			if err := writeRow(bw, batch[i], false); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	again := func(fn func(engine.StepRecord) error) error {
		_, err := runfolder.Scan(dir, fn)
		return err
	}
	info := stepInfo{transports: transports, commands: map[stepItem]string{}}
	if len(m.Series) > 0 {
		if info.commands, err = commandsOf(m, again); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return write(dir, func(w io.Writer) error {
		return render(w, m, dir, info, func(w io.Writer) error {
			if len(transports) > 1 {
				return writeRows(w, again, true)
			}
			if _, err := rows.Seek(0, io.SeekStart); err != nil {
				return err
			}
			_, err := io.Copy(w, rows)
			return err
		})
	})
}

// scanBatch is the records of a batch scanAhead hands over, and
// scanBatches how many batches it has: what WriteDir holds of the steps.
const (
	scanBatch   = 64
	scanBatches = 3
)

// scanAhead reads the steps of the run folder dir (runfolder.ScanBatches)
// on a goroutine of its own while fn, on the caller's, takes each batch of
// them in turn, and returns the manifest read. A batch is reused once fn
// returns: fn must not keep it, but may keep its strings. The scan runs at
// most scanBatches-1 batches ahead of fn. scanAhead returns (or panics,
// with fn's panic or the scan's) only once the goroutine has ended: fn's
// error or panic stops the scan first.
func scanAhead(dir string, fn func(batch []engine.StepRecord) error) (*engine.Manifest, error) {
	// Every batch is in free, in full, or held by one side: neither
	// channel's send ever blocks.
	free := make(chan []engine.StepRecord, scanBatches)
	full := make(chan []engine.StepRecord, scanBatches)
	for range scanBatches {
		free <- make([]engine.StepRecord, scanBatch)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	var (
		m      *engine.Manifest
		err    error
		broken any // the scan's panic
	)
	go func() {
		defer close(done)
		defer close(full) // after m, err and broken are set
		defer func() { broken = recover() }()
		m, err = runfolder.ScanBatches(dir, <-free, func(b []engine.StepRecord) ([]engine.StepRecord, error) {
			full <- b
			select {
			case next := <-free:
				return next, nil
			case <-stop:
				return nil, errStop
			}
		})
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for b := range full {
		if err := fn(b); err != nil {
			return nil, err
		}
		free <- b
	}
	if broken != nil {
		panic(broken)
	}
	return m, err
}

func write(dir string, fill func(io.Writer) error) error {
	err := runfolder.WriteAtomic(filepath.Join(dir, FileName), fill)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// stepSource hands the steps of a run to fn, in order, and returns the
// first error (of fn, or of reading them).
type stepSource func(fn func(engine.StepRecord) error) error

func stepsOf(m *engine.Manifest) stepSource {
	return func(fn func(engine.StepRecord) error) error {
		for _, s := range m.Steps {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// stepInfo is what the page needs of the steps before the timeline: the
// transports they went over, and the command of each step (and item)
// whose series it draws.
type stepInfo struct {
	transports []string
	commands   map[stepItem]string
}

type stepItem struct{ step, item string }

// command is the command step id ran first (for item, when given).
func (i stepInfo) command(id, item string) string { return i.commands[stepItem{id, item}] }

func addTransport(list *[]string, t string) {
	if t != "" && !slices.Contains(*list, t) {
		*list = append(*list, t)
	}
}

// infoOf reads the steps once for stepInfo, keeping only the commands of
// the steps m has series of.
func infoOf(m *engine.Manifest, steps stepSource) (stepInfo, error) {
	info := stepInfo{commands: map[stepItem]string{}}
	want := wanted(m)
	err := steps(func(s engine.StepRecord) error {
		addTransport(&info.transports, s.Transport)
		k := stepItem{s.ID, s.Item}
		if _, ok := info.commands[k]; !ok && want[k] && s.Command != "" {
			info.commands[k] = s.Command
		}
		return nil
	})
	return info, err
}

// wanted is the steps (and items) m has series of.
func wanted(m *engine.Manifest) map[stepItem]bool {
	want := map[stepItem]bool{}
	for _, s := range m.Series {
		want[stepItem{s.Step, s.Item}] = true
	}
	return want
}

// commandsOf reads the steps for the command of each step m has series
// of, until it has them all.
func commandsOf(m *engine.Manifest, steps stepSource) (map[stepItem]string, error) {
	commands := map[stepItem]string{}
	want := wanted(m)
	err := steps(func(s engine.StepRecord) error {
		k := stepItem{s.ID, s.Item}
		if _, ok := commands[k]; !ok && want[k] && s.Command != "" {
			commands[k] = s.Command
			if len(commands) == len(want) {
				return errStop
			}
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return commands, err
}

// renderSteps writes the page of m, its steps from steps: read twice,
// once for stepInfo, then for the rows.
func renderSteps(w io.Writer, m *engine.Manifest, dir string, steps stepSource) error {
	info, err := infoOf(m, steps)
	if err != nil {
		return err
	}
	return render(w, m, dir, info, func(w io.Writer) error {
		return writeRows(w, steps, len(info.transports) > 1)
	})
}

// render writes the page of m: the part before the timeline's rows, the
// rows as rows writes them, then the rest.
func render(w io.Writer, m *engine.Manifest, dir string, info stepInfo, rows func(io.Writer) error) error {
	v := build(m, dir, info)
	if err := pageHead.Execute(w, v); err != nil {
		return err
	}
	if err := rows(w); err != nil {
		return err
	}
	if err := pageTail.Execute(w, v); err != nil {
		return err
	}
	return nil
}

// writeRows writes the timeline's row of each step to w (several: the
// steps went over several transports).
func writeRows(w io.Writer, steps stepSource, several bool) error {
	return steps(func(s engine.StepRecord) error { return writeRow(w, s, several) })
}

// writeRow writes the timeline's row of s and a newline, as the template
// wrote {{.Row}} and a newline.
func writeRow(w io.Writer, s engine.StepRecord, several bool) error {
	sv := row(s, several)
	var b strings.Builder
	b.Grow(sv.rowSize() + 1)
	sv.writeRow(&b)
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// view is what the template shows: every value precomputed, every class
// name chosen from a fixed set.
type view struct {
	M           *engine.Manifest
	ResultClass string
	// Result is the result line in words: Outcome and CleanupState.
	Result string
	// Outcome is the run's outcome (engine.Outcome): the findings, or
	// "CLEANUP INCOMPLETE ..."; CleanupState what its cleanup did.
	Outcome, CleanupState, CleanupClass string
	Started                             string
	Ended                               string
	Duration                            string
	SHA256                              string
	Facts                               []kv
	Params                              []kv
	Findings                            []findingView
	Groups                              []chartGroup
	Cleanup                             []cleanupView
	// CleanupRows is the rows of Cleanup (cleanupRows).
	CleanupRows template.HTML
	CleanupCmd  string
	Files       []fileView
	// MissingCut says some missing evidence is of steps the run was
	// stopped in (status interrupted), not only of steps that failed.
	MissingCut bool
}

type kv struct{ K, V string }

type findingView struct {
	ID, Severity, Message, Class string
	Evidence                     []evidenceView
	// Charts are the series the evidence names, drawn beside it.
	Charts []chartView
}

type evidenceView struct {
	Step, Item, Field, Values string
	// Outputs are the output files of an entry that names no field,
	// each linked when it is a file of the folder (linkable).
	Outputs []outputLink
}

type outputLink struct {
	Path string
	Link bool
}

type stepView struct {
	Seq, Time, ID, Kind, Text, Status, Class, Error, Note string
	Item                                                  string // of a for_each step's run
	Output                                                string
	// Via is the transport of the step, shown when the run used several.
	Via string
	// Lets are the step's lets on one line (engine.LetsText), under its
	// command.
	Lets string
	Link bool
}

type cleanupView struct {
	Kind, Command, Status, Class, Error, Output, Note string
	Link                                              bool
}

type fileView struct {
	Path, Size, SHA256, What string
	Link                     bool
}

// build makes the view of m, but for the timeline's rows.
func build(m *engine.Manifest, dir string, info stepInfo) (v view) {
	v = view{
		M:           m,
		ResultClass: resultClass(m),
		Outcome:     engine.Outcome(m.Status, m.ExitCode, m.Findings, engine.MissingSteps(m.Missing)),
		Started:     fmtTime(m.Started),
		Ended:       fmtTime(m.Ended),
		SHA256:      m.Playbook.SHA256,
	}
	v.MissingCut = slices.ContainsFunc(m.Missing, func(x engine.MissingRecord) bool { return x.Status == "interrupted" })
	v.CleanupState, v.CleanupClass = cleanupState(m)
	v.Result = v.Outcome + "; " + v.CleanupState
	if !m.Started.IsZero() && m.Ended.After(m.Started) {
		v.Duration = m.Ended.Sub(m.Started).Round(time.Second).String()
	}
	v.Facts = facts(m.Target.Facts)
	v.Params = params(m.Params)
	n := 0
	next := func() string { n++; return "chart-" + strconv.Itoa(n) }
	series := map[seriesKey]engine.SeriesRecord{}
	for _, s := range m.Series {
		series[seriesKey{s.Step, s.Item, s.Field}] = s
	}
	used := map[seriesKey]bool{}
	for _, f := range sortedFindings(m.Findings) {
		fv := findingView{ID: f.ID, Severity: f.Severity, Message: f.Message, Class: severityClass(f.Severity)}
		for _, e := range f.Evidence {
			k := seriesKey{e.Step, e.Item, e.Field}
			s, ok := series[k]
			kind := ""
			if ok {
				kind = seriesKind(s, info.command(s.Step, s.Item))
			}
			ev := evidenceView{Step: e.Step, Item: e.Item, Field: e.Field, Values: evidenceValues(e.Values, kind)}
			for _, o := range e.Outputs {
				ev.Outputs = append(ev.Outputs, outputLink{Path: o, Link: linkable(o)})
			}
			fv.Evidence = append(fv.Evidence, ev)
			if ok && e.Field != "" {
				used[k] = true
				title := f.ID + " (" + f.Severity + "): " + e.Step
				if e.Item != "" {
					title += " item " + e.Item
				}
				fv.Charts = append(fv.Charts, chart(next(), title+": "+e.Field, s, kind))
			}
		}
		v.Findings = append(v.Findings, fv)
	}
	v.Groups = chartGroups(m, info, used, next)
	add := func(kind string, recs []engine.CleanupRecord) {
		for _, c := range recs {
			cv := cleanupView{Kind: kind, Command: c.Command, Status: c.Status,
				Class: statusClass(c.Status), Error: c.Error, Output: c.Output, Link: linkable(c.Output), Note: c.Note}
			if c.DoneBy > 0 && c.Status == "ok" {
				// Sent once, by the step: not a second time at cleanup.
				cv.Status = "done by step " + strconv.Itoa(c.DoneBy)
				cv.Note = "not sent again"
			}
			v.Cleanup = append(v.Cleanup, cv)
		}
	}
	add("undo", m.Undo)
	add("cleanup", m.Cleanup)
	v.CleanupRows = cleanupRows(v.Cleanup)
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

// errStop ends reading the steps early.
var errStop = errors.New("stop")

// row is the timeline row of step s; several: the run used several
// transports, so the row names its own.
func row(s engine.StepRecord, several bool) stepView {
	sv := stepView{ID: s.ID, Kind: s.Kind, Item: s.Item, Text: s.Command, Status: s.Status, Class: statusClass(s.Status),
		Error: s.Error, Note: s.Note, Output: s.Output, Link: linkable(s.Output), Lets: engine.LetsText(s.Lets)}
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
	return sv
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

// linkable reports whether p may be linked: a file inside steps/ or
// artifacts/, never a URL or a path out of the run folder. p must have
// the shape of the paths the engine writes into a run folder,
// ^(steps|artifacts)/[A-Za-z0-9._-]+$, checked by hand: it is asked twice
// a row.
func linkable(p string) bool {
	rest, ok := strings.CutPrefix(p, "steps/")
	if !ok {
		rest, ok = strings.CutPrefix(p, "artifacts/")
	}
	if !ok || rest == "" || strings.Contains(rest, "..") {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// evidenceValues prints a finding's values, one per run. The values of a
// running total read as its changes (its samples all look alike in three
// significant digits: 388k, 388k, 388k); those of a delta counter with
// their sum.
func evidenceValues(v []any, kind string) string {
	parts := make([]string, len(v))
	nums := make([]float64, 0, len(v))
	for i, x := range v {
		parts[i] = fmtValue(x)
		if n, ok := x.(float64); ok {
			nums = append(nums, n)
		}
	}
	s := strings.Join(parts, " → ")
	if len(nums) != len(v) || len(v) < 2 {
		return s
	}
	switch kind {
	case engine.SeriesCumulative:
		d, restarts := changes(nums)
		steps := make([]string, len(d))
		total := 0.0
		for k, x := range d {
			steps[k] = fmtSigned(x)
			if restarts[k] {
				steps[k] += " (restarted)"
			}
			total += x
		}
		return "from " + fmtNum(nums[0]) + ": " + strings.Join(steps, ", ") + " (change " + fmtSigned(total) + ")"
	case engine.SeriesDelta:
		sum := 0.0
		for _, x := range nums {
			sum += x
		}
		s += " (total " + fmtNum(sum) + ")"
	}
	return s
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
		return fmtNum(float64(n))
	case int64:
		return fmtNum(float64(n))
	}
	return fmt.Sprint(x)
}

// cleanupState says what the cleanup did, for the result line beside
// engine.Outcome (which says "CLEANUP INCOMPLETE ..." when the device may
// be dirty): what was undone and how, or that there was nothing to undo.
// An undo the playbook's own step sent counts once, as that step's.
func cleanupState(m *engine.Manifest) (text, class string) {
	if n := len(m.CleanupPending); n > 0 {
		return words.Count(n, "command") + " not undone", "st-bad"
	}
	sent, byStep, failed := 0, 0, 0
	for _, c := range append(append([]engine.CleanupRecord(nil), m.Undo...), m.Cleanup...) {
		switch {
		case c.Status != "ok":
			failed++
		case c.DoneBy > 0:
			byStep++
		default:
			sent++
		}
	}
	var parts []string
	if sent > 0 {
		parts = append(parts, strconv.Itoa(sent)+" sent at cleanup")
	}
	if byStep > 0 {
		parts = append(parts, strconv.Itoa(byStep)+" undone by the playbook's own steps")
	}
	if failed > 0 {
		parts = append(parts, strconv.Itoa(failed)+" failed")
	}
	switch {
	case len(parts) == 0:
		return "nothing to undo", "st-ok"
	case failed > 0:
		return "cleanup: " + strings.Join(parts, ", "), "st-bad"
	}
	return "cleanup done (" + strings.Join(parts, ", ") + ")", "st-ok"
}
