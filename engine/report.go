package engine

import (
	"context"
	"fmt"
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

var severityRank = map[playbook.Severity]int{playbook.SeverityCritical: 0, playbook.SeverityWarning: 1, playbook.SeverityInfo: 2}

// evalFindings evaluates every finding on what was collected.
func (ru *run) evalFindings() {
	ru.collectSeries()
	env := ru.env(nil)
	for _, f := range ru.pb.Findings {
		env, err := f.Env(env)
		var ok bool
		if err == nil {
			ok, err = f.When.Bool(env)
		}
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
// field's value at each run, and for a for_each step one record per item;
// for an entry that names no field, the output files of the step's runs.
func (ru *run) evidence(ev playbook.Evidence, v playbook.StepView) []EvidenceRecord {
	recs := evidenceOf(ev, v, ru.redact)
	if ev.Field == "" {
		for i := range recs {
			recs[i].Outputs = ru.outputs[stepItem{ev.Step, recs[i].Item}]
		}
	}
	return recs
}

// wholeOutput is the set of steps a finding of pb names as evidence
// without a field, each with no output file yet (run.outputs); nil when
// there is none.
func wholeOutput(pb *playbook.Playbook) map[stepItem][]string {
	var out map[stepItem][]string
	findings := pb.Findings
	if pb.Case != nil {
		// A case finding names a step of an end: every end runs pb.
		findings = append(slices.Clip(findings), pb.Case.Findings...)
	}
	for _, f := range findings {
		for _, ev := range f.Evidence {
			if ev.Field == "" {
				if out == nil {
					out = map[stepItem][]string{}
				}
				out[stepItem{ev.Step, ""}] = nil
			}
		}
	}
	return out
}

// keepOutput keeps file, the output file a run of step id just wrote,
// when a finding names the step as evidence without a field (wholeOutput).
func (ru *run) keepOutput(id, file string) {
	if file == "" {
		return
	}
	if _, ok := ru.outputs[stepItem{id, ""}]; !ok {
		return
	}
	k := stepItem{id, ru.itemOr()}
	ru.outputs[k] = append(ru.outputs[k], file)
}

// outputsOf is the output files of step id (of item) a finding names as
// evidence without a field, for EndState.Outputs.
func (ru *run) outputsOf(id, item string) []string { return ru.outputs[stepItem{id, item}] }

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
	// The parsers of the steps kept (the only ones in ru.steps), known
	// without reading the steps again.
	parsers := map[string]string{}
	for _, k := range ru.pb.KeptSteps() {
		parsers[k.ID] = k.Parse
	}
	playbook.Walk(ru.pb.Cleanup, func(s *playbook.Step) {
		if s.ID != "" {
			parsers[s.ID] = s.Parse
		}
	})
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
		ru.m.Series = append(ru.m.Series, SeriesRecord{Step: id, Item: ru.redact(item), Field: f,
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

// printEnd emits the findings and the end of the run.
func (ru *run) printEnd(res *Result) {
	for _, f := range ru.m.Findings {
		ru.em.emit(Event{Type: EvFinding, ID: f.ID, Severity: f.Severity, Message: f.Message})
	}
	// The folder writes the finished record as it records run-ended,
	// before any other observer sees it.
	e := endEvent(res, filepath.Join(res.Dir, "summary.md"))
	e.Write = &FolderWrite{Manifest: ru.m}
	e, err := ru.em.record(e)
	if err != nil {
		ru.problem("run", fmt.Errorf("writing the run folder: %w", err))
	}
	// The manifest handed back is the redacted one, as written: nothing in
	// memory that callers may render holds a secret. Without its steps:
	// they are in the folder.
	if red, err := ru.folder.Written(); err == nil {
		res.Manifest = red
	}
	ru.em.publish(e)
}

// endEvent is the run-ended of res: summary is summary.md, empty when no
// run folder is kept.
func endEvent(res *Result, summary string) Event {
	m := res.Manifest
	code := res.ExitCode
	return Event{Type: EvRunEnded, Status: EventStatus(m.Status), ExitCode: &code, Outcome: Outcome(m.Status, res.ExitCode, m.Findings, MissingSteps(m.Missing)),
		Dir: res.Dir, Summary: summary, Pending: res.Pending, Error: m.Error, Missing: m.Missing}
}
