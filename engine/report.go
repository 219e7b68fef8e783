package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/secret"
)

// resolveParams turns secret references into values (registered with the
// redactor) and returns the parameters as expressions see them.
func (r *Runner) resolveParams(ctx context.Context, pb *playbook.Playbook, given map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(given))
	// In a stable order, so several prompted secrets are asked the same way
	// every run.
	for _, k := range slices.Sorted(maps.Keys(given)) {
		v := given[k]
		ref, ok := v.(secret.Ref)
		if !ok {
			out[k] = v
			continue
		}
		if ref.IsZero() {
			out[k] = ""
			continue
		}
		if ref.Kind == "prompt" && ref.Name == "" {
			ref.Name = "param " + k // its own question, not another's answer
		}
		val, err := r.o.Secrets.Resolve(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("param %s: %w", k, err)
		}
		out[k] = val
	}
	for _, p := range pb.Params { // every declared param has a value
		if _, ok := out[p.Name]; !ok {
			out[p.Name] = zeroOf(p.Type)
		}
	}
	return out, nil
}

func zeroOf(t playbook.ParamType) any {
	switch t {
	case playbook.TypeInt:
		return 0
	case playbook.TypeBool:
		return false
	case playbook.TypeDuration:
		return time.Duration(0)
	}
	return ""
}

// displayParams is the parameters as written to the manifest: secret
// parameters show their reference, never their value.
func displayParams(given map[string]any) map[string]any {
	out := make(map[string]any, len(given))
	for k, v := range given {
		switch x := v.(type) {
		case secret.Ref:
			out[k] = x.String()
		case time.Duration:
			out[k] = x.String()
		default:
			out[k] = v
		}
	}
	return out
}

func stringParams(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

func captureNames(pb *playbook.Playbook) []string {
	seen := map[string]bool{}
	var out []string
	visit := func(s *playbook.Step) {
		for _, c := range s.Captures {
			if !seen[c.Name] {
				seen[c.Name] = true
				out = append(out, c.Name)
			}
		}
	}
	playbook.Walk(pb.Steps, visit)
	playbook.Walk(pb.Cleanup, visit)
	return out
}

var severityRank = map[playbook.Severity]int{playbook.SeverityCritical: 0, playbook.SeverityWarning: 1, playbook.SeverityInfo: 2}

// evalFindings evaluates every finding on what was collected.
func (ru *run) evalFindings() {
	ru.collectSeries()
	env := ru.env(nil)
	for _, f := range ru.pb.Findings {
		ok, err := f.When.Bool(env)
		if err != nil {
			ru.m.Unevaluated = append(ru.m.Unevaluated, fmt.Sprintf("%s: %s", f.ID, ru.redact(err.Error())))
			continue
		}
		if !ok {
			continue
		}
		_, msg, err := ru.render(f.Message, env)
		if err != nil {
			msg = f.Message.Src
		}
		rec := FindingRecord{ID: f.ID, Severity: string(f.Severity), Message: msg}
		for _, ev := range f.Evidence {
			rec.Evidence = append(rec.Evidence, ru.evidence(ev, ru.view(ev.Step))...)
		}
		ru.m.Findings = append(ru.m.Findings, rec)
	}
	sort.SliceStable(ru.m.Findings, func(i, j int) bool {
		return severityRank[playbook.Severity(ru.m.Findings[i].Severity)] < severityRank[playbook.Severity(ru.m.Findings[j].Severity)]
	})
}

// evidence is what a finding's evidence entry records of step v: the
// field's value at each run, and for a for_each step one record per item.
func (ru *run) evidence(ev playbook.Evidence, v playbook.StepView) []EvidenceRecord {
	return evidenceOf(ev, v, ru.redact)
}

// evidenceOf is what evidence entry ev records of step v, device text
// redacted with redact.
func evidenceOf(ev playbook.Evidence, v playbook.StepView, redact func(string) string) []EvidenceRecord {
	values := func(runs []playbook.RunView) []any {
		var out []any
		for _, run := range runs {
			if ev.Field != "" {
				v := playbook.Lookup(run.Fields, ev.Field)
				if s, ok := v.(string); ok { // device text
					v = redact(s)
				}
				out = append(out, v)
			}
		}
		return out
	}
	if len(v.Items) == 0 {
		return []EvidenceRecord{{Step: ev.Step, Field: ev.Field, Values: values(v.Runs)}}
	}
	out := make([]EvidenceRecord, 0, len(v.Items))
	for _, it := range v.Items {
		out = append(out, EvidenceRecord{Step: ev.Step, Item: it.Item, Field: ev.Field, Values: values(it.Runs)})
	}
	return out
}

// maxSeries bounds the series kept per step, so a counters table with
// hundreds of rows does not bloat the manifest.
const maxSeries = 40

// collectSeries keeps, for each repeated step with parsed fields, the
// numeric fields a finding names as evidence (changed or not: a counter
// that stays flat is what a finding rests on), then the other top-level
// numeric fields that changed between runs; for a for_each step, those of
// each item (at most maxSeries per item).
func (ru *run) collectSeries() {
	ids := make([]string, 0, len(ru.steps))
	for id := range ru.steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parsers := map[string]string{}
	visit := func(s *playbook.Step) {
		if s.ID != "" {
			parsers[s.ID] = s.Parse
		}
	}
	playbook.Walk(ru.pb.Steps, visit)
	playbook.Walk(ru.pb.Cleanup, visit)
	evidence := map[string][]string{}
	for _, f := range ru.pb.Findings {
		for _, ev := range f.Evidence {
			if ev.Field != "" && !slices.Contains(evidence[ev.Step], ev.Field) {
				evidence[ev.Step] = append(evidence[ev.Step], ev.Field)
			}
		}
	}
	for _, id := range ids {
		v := ru.view(id)
		if len(v.Items) == 0 {
			ru.addSeries(id, "", v, parsers[id], evidence[id])
			continue
		}
		for _, it := range v.Items {
			ru.addSeries(id, it.Item, playbook.StepView{Runs: it.Runs}, parsers[id], evidence[id])
		}
	}
}

// addSeries adds the series of step id (of its item, when given) to the
// manifest: v holds the runs to draw, parser is the step's, evidence the
// fields findings name.
func (ru *run) addSeries(id, item string, v playbook.StepView, parser string, evidence []string) {
	if len(v.Runs) < 2 || v.Runs[0].Fields == nil {
		return
	}
	command := ru.stepCommand(id, item)
	var names []string
	for k := range v.Runs[0].Fields {
		if !slices.Contains(evidence, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	n := 0
	for i, f := range append(slices.Clone(evidence), names...) {
		vals := playbook.Samples(v, f)
		if len(vals) != len(v.Runs) || (i >= len(evidence) && !changed(vals)) {
			continue
		}
		times := make([]time.Time, len(v.Runs))
		for i, r := range v.Runs {
			times[i] = r.Time
		}
		ru.m.Series = append(ru.m.Series, SeriesRecord{Step: id, Item: item, Field: f,
			Kind: SeriesKind(parser, command), Values: vals, Times: times})
		if n++; n >= maxSeries {
			break
		}
	}
}

// stepCommand is the command step id ran first (for item, when given), as
// recorded.
func (ru *run) stepCommand(id, item string) string { return ru.firstCmd[stepItem{id, item}] }

// cumulativeCommands are the commands whose every numeric field is a
// running total: the counters of an SA since it was set up.
var cumulativeCommands = []string{"show vpn flow tunnel-id", "show running tunnel flow"}

// SeriesKind says what the numeric fields of a step that ran command with
// parser are (docs/run-folder.md): SeriesDelta when the command asks for
// `delta yes` (the device prints the change since its previous sample),
// SeriesCumulative for the counters parser without it and for the
// commands of cumulativeCommands, SeriesGauge otherwise.
func SeriesKind(parser, command string) string {
	words := strings.Fields(command)
	for i := 0; i+1 < len(words); i++ {
		if words[i] == "delta" && strings.Trim(words[i+1], `"`) == "yes" {
			return SeriesDelta
		}
	}
	if parser == "counters" {
		return SeriesCumulative
	}
	norm := strings.Join(words, " ")
	for _, c := range cumulativeCommands {
		if strings.HasPrefix(norm, c+" ") || norm == c {
			return SeriesCumulative
		}
	}
	return SeriesGauge
}

func changed(v []float64) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return true
		}
	}
	return false
}

// deviceClock is the output of the first successful `show clock`: the
// device's own time while the problem was happening.
func (ru *run) deviceClock() string {
	if ru.clock0 == nil {
		return ""
	}
	return *ru.clock0
}

func marshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// printEnd emits the findings and the end of the run.
func (ru *run) printEnd(res *Result) {
	for _, f := range ru.m.Findings {
		ru.em.emit(Event{Type: EvFinding, ID: f.ID, Severity: f.Severity, Message: f.Message})
	}
	ru.emitEnd(res, filepath.Join(res.Dir, "summary.md"))
}

// emitEnd emits run-ended: summary is summary.md, empty when no run folder
// is kept.
func (r *Runner) emitEnd(res *Result, summary string) {
	m := res.Manifest
	code := res.ExitCode
	r.em.emit(Event{Type: EvRunEnded, Status: EventStatus(m.Status), ExitCode: &code, Outcome: Outcome(m.Status, res.ExitCode, m.Findings, len(m.Missing)),
		Dir: res.Dir, Summary: summary, Pending: res.Pending, Error: m.Error, Missing: m.Missing})
}

// writeSummary writes summary.md of the run folder dir from m, whose
// values are already redacted: the Markdown is not redacted again.
func writeSummary(dir string, m *Manifest) error {
	var b strings.Builder
	if err := WriteSummary(&b, dir, m, len(StepTransports(m)) > 1, slices.Values(m.Steps)); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, "summary.md"), []byte(b.String()))
}

// WriteSummary writes summary.md of the run folder dir to w: m without
// its steps, which come from steps, in order (a run folder streams them
// from disk); via says the steps went over several transports (each row
// then names its own). Every value is already redacted.
func WriteSummary(w io.Writer, dir string, m *Manifest, via bool, steps iter.Seq[StepRecord]) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "# %s: %s\n\n", m.Playbook.Name, m.Playbook.Title)
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| Target | %s (%s) |\n", m.Target.Name, m.Target.Transport)
	for _, k := range []string{"hostname", "model", "serial", "sw_version"} {
		if v := m.Target.Facts[k]; v != "" {
			fmt.Fprintf(b, "| %s | %s |\n", k, v)
		}
	}
	fmt.Fprintf(b, "| Playbook | %s, sha256 %s |\n", m.Playbook.Source, short(m.Playbook.SHA256))
	fmt.Fprintf(b, "| Started | %s |\n| Ended | %s |\n", m.Started.Format(time.RFC3339), m.Ended.Format(time.RFC3339))
	if m.DeviceClock != "" {
		fmt.Fprintf(b, "| Device clock at the problem | %s |\n", m.DeviceClock)
	}
	fmt.Fprintf(b, "| Result | %s (exit %d) |\n", Outcome(m.Status, m.ExitCode, m.Findings, len(m.Missing)), m.ExitCode)
	if m.Error != "" {
		fmt.Fprintf(b, "| Error | %s |\n", mdCell(m.Error))
	}
	b.WriteString("\n## Parameters\n\n")
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "- `%s` = `%v`\n", k, m.Params[k])
	}
	b.WriteString("\n## Findings\n\n")
	if len(m.Findings) == 0 {
		b.WriteString("No finding fired.\n")
	}
	for _, f := range m.Findings {
		fmt.Fprintf(b, "- **%s** `%s`: %s\n", strings.ToUpper(f.Severity), f.ID, f.Message)
	}
	for _, u := range m.Unevaluated {
		fmt.Fprintf(b, "- not evaluated: %s\n", u)
	}
	if hasEvidence(m.Findings) {
		b.WriteString("\n### Evidence\n\n| finding | step | field | values (one per run) |\n|---|---|---|---|\n")
		for _, f := range m.Findings {
			for _, e := range f.Evidence {
				fmt.Fprintf(b, "| `%s` | `%s`%s | `%s` | %s |\n", f.ID, e.Step, itemNote(e.Item), e.Field, mdCell(fmtValues(e.Values)))
			}
		}
	}
	writeMissing(b, m.Missing)
	if len(m.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range m.Notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
	}
	// A target reached several ways says which way each command went; one
	// reached one way says it once, in the table above.
	if via {
		b.WriteString("\n## Timeline\n\n| # | time (UTC) | step | command | via | status | output |\n|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("\n## Timeline\n\n| # | time (UTC) | step | command | status | output |\n|---|---|---|---|---|---|\n")
	}
	for s := range steps {
		cmd := s.Command
		if cmd == "" {
			cmd = s.Note
		}
		seq := ""
		if s.Seq > 0 {
			seq = fmt.Sprint(s.Seq)
		}
		status := s.Status
		if s.Status == "skipped" && s.Note != "" && s.Command != "" {
			status += " (" + mdCell(s.Note) + ")"
		}
		if via {
			fmt.Fprintf(b, "| %s | %s | %s%s | %s | %s | %s | %s |\n", seq, s.Start.Format("15:04:05"), s.ID, itemNote(s.Item), mdCell(cmd), s.Transport, status, s.Output)
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s%s | %s | %s | %s |\n", seq, s.Start.Format("15:04:05"), s.ID, itemNote(s.Item), mdCell(cmd), status, s.Output)
	}
	b.WriteString("\n## Cleanup\n\n")
	if len(m.Undo)+len(m.Cleanup) == 0 {
		b.WriteString("Nothing to undo.\n")
	}
	for _, c := range append(append([]CleanupRecord(nil), m.Undo...), m.Cleanup...) {
		if c.DoneBy > 0 && c.Status == "ok" { // sent once, by the step
			fmt.Fprintf(b, "- `%s`: done by step %d, not sent again\n", c.Command, c.DoneBy)
			continue
		}
		fmt.Fprintf(b, "- `%s`: %s", c.Command, c.Status)
		if via && c.Transport != "" {
			fmt.Fprintf(b, " (via %s)", c.Transport)
		}
		if c.Error != "" {
			fmt.Fprintf(b, " (%s)", c.Error)
		}
		b.WriteString("\n")
	}
	if len(m.CleanupPending) > 0 {
		b.WriteString("\n**Cleanup incomplete: the device may still be in debug.** Run `runbook cleanup " + dir + "` or, on the device:\n\n")
		for _, p := range m.CleanupPending {
			fmt.Fprintf(b, "    %s\n", p)
		}
	}
	b.WriteString("\n## Files to attach\n\n- this run folder (or its `.tar.gz` from `--bundle`): `manifest.json`, `summary.md`, `steps/`\n")
	for _, a := range m.Artifacts {
		fmt.Fprintf(b, "- `%s` (%d bytes, sha256 %s)\n", a.Path, a.Size, short(a.SHA256))
	}
	return b.Flush()
}

// StepTransports lists, in order of first use, the transports the steps
// of m went over: more than one for a target reached several ways.
func StepTransports(m *Manifest) []string {
	var out []string
	for _, s := range m.Steps {
		if s.Transport != "" && !slices.Contains(out, s.Transport) {
			out = append(out, s.Transport)
		}
	}
	return out
}

// itemNote shows the item of a for_each step's run beside the step id.
func itemNote(item string) string {
	if item == "" {
		return ""
	}
	return " [item " + mdCell(item) + "]"
}

func hasEvidence(fs []FindingRecord) bool {
	for _, f := range fs {
		if len(f.Evidence) > 0 {
			return true
		}
	}
	return false
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func fmtValues(v []any) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " → ")
}
