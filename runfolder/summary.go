package runfolder

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// WriteSummary writes summary.md of the run folder dir to w: m without
// its steps, which come from steps, in order (a run folder streams them
// from disk); via says the steps went over several transports (each row
// then names its own). Every value is already redacted.
func WriteSummary(w io.Writer, dir string, m *engine.Manifest, via bool, steps iter.Seq[engine.StepRecord]) error {
	b := bufio.NewWriter(w)
	summaryHead(b, m, via)
	for s := range steps {
		summaryRow(b, s, via)
	}
	summaryTail(b, dir, m, via)
	return b.Flush()
}

// summaryHead writes summary.md up to its timeline's rows.
func summaryHead(b *bufio.Writer, m *engine.Manifest, via bool) {
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
	fmt.Fprintf(b, "| Result | %s (exit %d) |\n", engine.Outcome(m.Status, m.ExitCode, m.Findings, engine.MissingSteps(m.Missing)), m.ExitCode)
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
				if e.Field == "" {
					// The finding rests on the output's text: its files.
					fmt.Fprintf(b, "| `%s` | `%s`%s | (whole output) | %s |\n", f.ID, e.Step, itemNote(e.Item), mdCell(strings.Join(e.Outputs, ", ")))
					continue
				}
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
}

// summaryRow writes the timeline row of step s; its lets, if any, stand
// beside its id: "ike_sa_detail (let GWS = [10.1.1.1])".
func summaryRow(b *bufio.Writer, s engine.StepRecord, via bool) {
	cmd := s.Command
	if cmd == "" {
		cmd = s.Note
	}
	b.WriteString("| ")
	if s.Seq > 0 {
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(s.Seq), 10))
	}
	b.WriteString(" | ")
	b.Write(appendClock(b.AvailableBuffer(), s.Start))
	b.WriteString(" | ")
	b.WriteString(s.ID)
	if s.Item != "" {
		b.WriteString(" [item ")
		b.WriteString(mdCell(s.Item))
		b.WriteString("]")
	}
	if len(s.Lets) > 0 {
		b.WriteString(" (let ")
		b.WriteString(mdCell(engine.LetsText(s.Lets)))
		b.WriteString(")")
	}
	b.WriteString(" | ")
	b.WriteString(mdCell(cmd))
	b.WriteString(" | ")
	if via {
		b.WriteString(s.Transport)
		b.WriteString(" | ")
	}
	b.WriteString(s.Status)
	if s.Status == "skipped" && s.Note != "" && s.Command != "" {
		b.WriteString(" (")
		b.WriteString(mdCell(s.Note))
		b.WriteString(")")
	}
	b.WriteString(" | ")
	b.WriteString(s.Output)
	b.WriteString(" |\n")
}

// appendClock appends t.AppendFormat(dst, "15:04:05"), without parsing
// the layout.
func appendClock(dst []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	return append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
}

// summaryTail writes summary.md after its timeline's rows.
func summaryTail(b *bufio.Writer, dir string, m *engine.Manifest, via bool) {
	b.WriteString("\n## Cleanup\n\n")
	if len(m.Undo)+len(m.Cleanup) == 0 {
		b.WriteString("Nothing to undo.\n")
	}
	for _, c := range append(append([]engine.CleanupRecord(nil), m.Undo...), m.Cleanup...) {
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
}

// itemNote shows the item of a for_each step's run beside the step id.
func itemNote(item string) string {
	if item == "" {
		return ""
	}
	return " [item " + mdCell(item) + "]"
}

func hasEvidence(fs []engine.FindingRecord) bool {
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

// writeMissing writes summary.md's "Missing evidence" section: nothing
// when no evidence is missing. Every value is already redacted.
func writeMissing(b io.Writer, missing []engine.MissingRecord) {
	if len(missing) == 0 {
		return
	}
	cut := slices.ContainsFunc(missing, func(m engine.MissingRecord) bool { return m.Status == "interrupted" })
	if cut { // runbook cleanup rebuilt the record of a killed run
		b.Write([]byte("\n## Missing evidence\n\nThese steps failed and the run went on, or the run was stopped before they were done (killed while they ran, or in the pause between their runs); take what they would have given by hand:\n\n"))
	} else {
		fmt.Fprintf(b, "\n## Missing evidence\n\n%s and the run went on; take what they would have given by hand:\n\n", engine.StepsFailed(engine.MissingSteps(missing)))
	}
	for _, m := range missing {
		said := "the device said"
		if m.Status == "interrupted" {
			said = "what happened"
		}
		fmt.Fprintf(b, "- %s: `%s` (%s)\n  - %s: %s\n  - by hand: %s\n", missingTitle(m), m.Command, m.Status, said, mdCell(m.Error), m.ByHand)
	}
}

// missingTitle names a missing step: its id (and item, run), else its
// number, else (nothing was sent) its command.
func missingTitle(m engine.MissingRecord) string {
	t := m.Step
	switch {
	case t == "" && m.Seq == 0: // nothing sent: a run a pause held back
		t = fmt.Sprintf("%q", m.Command)
	case t == "":
		t = fmt.Sprintf("step %d", m.Seq)
	}
	if m.Item != "" {
		t += " [item " + m.Item + "]"
	}
	if m.Run > 0 {
		t += fmt.Sprintf(" (run %d)", m.Run)
	}
	return "**" + t + "**"
}
