package runcase

import (
	"fmt"
	"html/template"
	"path/filepath"
	"strings"

	"github.com/runbook-dev/runbook/engine"
)

// Summary is summary.md: the findings across the ends first (when the
// playbook has a case: section), then the ends side by side, their
// findings, their cleanup, then the timeline.
func (c *Case) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Case: %s against %d targets\n\n", c.Playbook, len(c.Ends))
	fmt.Fprintf(&b, "Started %s; exit %d (the worst of the ends, and of the findings across them).\n\n", c.Started.Format("2006-01-02 15:04:05Z"), c.ExitCode)
	if c.HasEnds() {
		fmt.Fprintf(&b, "## Across the ends (%s)\n\n", md(c.EndsText()))
		if len(c.Findings) == 0 && len(c.Unevaluated) == 0 {
			b.WriteString("No finding across the ends fired.\n\n")
		}
		for _, f := range c.Findings {
			fmt.Fprintf(&b, "- **[%s] %s**: %s\n", f.Severity, md(f.ID), md(f.Message))
			for _, ev := range f.Evidence {
				fmt.Fprintf(&b, "  - %s\n", md(EvidenceText(ev)))
			}
		}
		for _, u := range c.Unevaluated {
			fmt.Fprintf(&b, "- not evaluated: %s\n", md(u))
		}
		b.WriteString("\n")
	}
	b.WriteString("| target | status | exit | findings | cleanup | device clock | clock offset | run folder |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, e := range c.Ends {
		dir := e.Dir
		if dir == "" {
			dir = "(none: nothing was sent)"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s |\n", md(e.Target), e.Status, e.ExitCode, len(e.Findings), e.cleanupText(), md(e.DeviceClock), e.offsetText(), md(dir))
	}
	b.WriteString("\n## Findings of each end\n\n")
	for _, e := range c.Ends {
		fmt.Fprintf(&b, "### %s\n\n", md(e.Target))
		if e.Error != "" {
			fmt.Fprintf(&b, "Error: %s\n\n", md(e.Error))
		}
		if len(e.Findings) == 0 {
			b.WriteString("No finding fired.\n\n")
			continue
		}
		for _, f := range e.Findings {
			fmt.Fprintf(&b, "- **[%s] %s**: %s\n", f.Severity, md(f.ID), md(f.Message))
		}
		b.WriteString("\n")
	}
	c.missingSummary(&b)
	b.WriteString("## Cleanup of each end\n\n")
	for _, e := range c.Ends {
		fmt.Fprintf(&b, "### %s: %s\n\n", md(e.Target), e.cleanupText())
		for _, r := range e.Undo {
			fmt.Fprintf(&b, "- undo `%s`: %s%s\n", r.Command, r.Status, errText(r))
		}
		for _, r := range e.Cleanup {
			fmt.Fprintf(&b, "- cleanup `%s`: %s%s\n", r.Command, r.Status, errText(r))
		}
		if len(e.Pending) > 0 && e.Dir != "" {
			fmt.Fprintf(&b, "\nNot undone: finish with `runbook cleanup %s` (or the case folder).\n", e.Dir)
		}
		b.WriteString("\n")
	}
	b.WriteString(c.samplingSummary())
	b.WriteString("## Timeline\n\nEvery step of every end, ordered by each device's clock (the engine's time plus the end's clock offset).\n\n")
	b.WriteString("| device time | target | seq | command | status | output |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, t := range c.Timeline {
		fmt.Fprintf(&b, "| %s | %s | %d | `%s` | %s | %s |\n", t.DeviceTime.Format("2006-01-02 15:04:05.000"), md(t.Target), t.Seq, t.Command, t.Status, md(t.Output))
	}
	return b.String()
}

// HasEnds reports whether the playbook named the case's ends (a case:
// section): then the case has findings across them, maybe none.
func (c *Case) HasEnds() bool {
	for _, e := range c.Ends {
		if e.Name != "" {
			return true
		}
	}
	return false
}

// EndsText names each end and its target: "a = fw1, b = fw2".
func (c *Case) EndsText() string {
	var parts []string
	for _, e := range c.Ends {
		if e.Name != "" {
			parts = append(parts, e.Name+" = "+e.Target)
		}
	}
	return strings.Join(parts, ", ")
}

// EvidenceText is one evidence record of a case finding in one line:
// "a (fw1) flow item 12 encap_packets: 100, 5100", or for an entry that
// names no field its output files, "a (fw1) ping: output steps/001-ping.txt".
func EvidenceText(ev engine.EvidenceRecord) string {
	s := ev.Step
	if ev.End != "" {
		s = fmt.Sprintf("%s (%s) %s", ev.End, ev.Target, ev.Step)
	}
	if ev.Item != "" {
		s += " item " + ev.Item
	}
	if ev.Field != "" {
		s += " " + ev.Field
	} else if len(ev.Outputs) > 0 {
		// The finding rests on the output's text: its files, in the end's
		// run folder.
		return s + ": output " + strings.Join(ev.Outputs, ", ")
	}
	vals := make([]string, len(ev.Values))
	for i, v := range ev.Values {
		vals[i] = fmt.Sprint(v)
	}
	if len(vals) == 0 {
		return s + ": no value"
	}
	return s + ": " + strings.Join(vals, ", ")
}

func errText(r engine.CleanupRecord) string {
	if r.Error == "" {
		return ""
	}
	return ": " + md(r.Error)
}

// cleanupText is the end's cleanup in one word or two.
func (e End) cleanupText() string {
	switch {
	case e.Dir == "":
		return "none"
	case len(e.Pending) > 0:
		return fmt.Sprintf("pending %d", len(e.Pending))
	}
	return "clean"
}

// md keeps a value from breaking a Markdown table.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

var page = template.Must(template.New("case").Funcs(template.FuncMap{
	"report":   func(dir string) string { return filepath.ToSlash(filepath.Join(dir, "report.html")) },
	"evidence": EvidenceText,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case: {{.C.Playbook}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.critical{color:#b00}.warning{color:#a60}</style>
</head><body>
<h1>Case: {{.C.Playbook}} against {{len .C.Ends}} targets</h1>
<p>Started {{.C.Started.Format "2006-01-02 15:04:05Z"}}; exit {{.C.ExitCode}}.</p>
{{if .C.HasEnds}}<h2>Across the ends ({{.C.EndsText}})</h2>
{{if or .C.Findings .C.Unevaluated}}<ul>{{range .C.Findings}}<li class="{{.Severity}}">[{{.Severity}}] {{.ID}}: {{.Message}}{{if .Evidence}}<ul>{{range .Evidence}}<li>{{evidence .}}</li>{{end}}</ul>{{end}}</li>{{end}}{{range .C.Unevaluated}}<li>not evaluated: {{.}}</li>{{end}}</ul>{{else}}<p>No finding across the ends fired.</p>{{end}}
{{end}}<table><tr><th>target</th><th>status</th><th>exit</th><th>findings</th><th>cleanup</th><th>device clock</th><th>clock offset</th><th>report</th></tr>
{{range .Ends}}<tr><td>{{.E.Target}}</td><td>{{.E.Status}}</td><td>{{.E.ExitCode}}</td><td>{{len .E.Findings}}</td><td>{{.Cleanup}}</td><td>{{.E.DeviceClock}}</td><td>{{.Offset}}</td><td>{{if .E.Dir}}<a href="{{report .E.Dir}}">{{.E.Dir}}</a>{{else}}none: nothing was sent{{end}}</td></tr>
{{end}}</table>
<h2>Findings of each end</h2>
{{range .Ends}}<h3>{{.E.Target}}</h3>{{if .E.Findings}}<ul>{{range .E.Findings}}<li class="{{.Severity}}">[{{.Severity}}] {{.ID}}: {{.Message}}</li>{{end}}</ul>{{else}}<p>No finding fired.</p>{{end}}
{{end}}
<h2>Cleanup of each end</h2>
{{range .Ends}}<h3>{{.E.Target}}: {{.Cleanup}}</h3><ul>{{range .E.Undo}}<li>undo <code>{{.Command}}</code>: {{.Status}} {{.Error}}</li>{{end}}{{range .E.Cleanup}}<li>cleanup <code>{{.Command}}</code>: {{.Status}} {{.Error}}</li>{{end}}</ul>
{{end}}
{{with .C.Sampling}}<h2>Sampled together ({{range $i, $e := .Ends}}{{if $i}}, {{end}}{{$e}}{{end}})</h2>
<p>Each run of a repeated step started on every end at one shared start, each wait together, each prompt asked once for every end; times on the engine's clock.</p>
<table><tr><th>step</th><th>run</th>{{range .Ends}}<th>{{.}}</th>{{end}}<th>spread</th><th>note</th></tr>
{{range $p := .Points}}<tr><td>{{$p.Step}} ({{$p.Kind}})</td><td>{{if gt $p.Runs 1}}{{$p.Run}}/{{$p.Runs}}{{end}}</td>{{range $.C.Sampling.Ends}}<td>{{$p.StartText .}}</td>{{end}}<td>{{with $p.SpreadMS}}{{.}} ms{{end}}</td><td>{{$p.Note}}</td></tr>
{{end}}</table>
{{end}}<h2>Timeline</h2>
<p>Every step of every end, ordered by each device's clock.</p>
<table><tr><th>device time</th><th>target</th><th>seq</th><th>command</th><th>status</th></tr>
{{range .C.Timeline}}<tr><td>{{.DeviceTime.Format "2006-01-02 15:04:05.000"}}</td><td>{{.Target}}</td><td>{{.Seq}}</td><td>{{if .Output}}<a href="{{.Output}}"><code>{{.Command}}</code></a>{{else}}<code>{{.Command}}</code>{{end}}</td><td>{{.Status}}</td></tr>
{{end}}</table>
</body></html>
`))

type pageEnd struct {
	E       End
	Cleanup string
	Offset  string
}

func writeHTML(c *Case, path string) error {
	data := struct {
		C    *Case
		Ends []pageEnd
	}{C: c}
	for _, e := range c.Ends {
		data.Ends = append(data.Ends, pageEnd{E: e, Cleanup: e.cleanupText(), Offset: e.offsetText()})
	}
	var b strings.Builder
	if err := page.Execute(&b, data); err != nil {
		return err
	}
	return engine.WriteFileAtomic(path, []byte(b.String()))
}

// missingSummary writes the missing evidence of each end that has some;
// nothing when no end misses any.
func (c *Case) missingSummary(b *strings.Builder) {
	n := 0
	for _, e := range c.Ends {
		n += len(e.Missing)
	}
	if n == 0 {
		return
	}
	b.WriteString("## Missing evidence of each end\n\n")
	for _, e := range c.Ends {
		for _, m := range e.Missing {
			what := m.Step
			if what == "" {
				what = fmt.Sprintf("step %d", m.Seq)
			}
			fmt.Fprintf(b, "- %s, **%s**: `%s` (%s): %s. By hand: %s\n", md(e.Target), md(what), m.Command, m.Status, md(m.Error), m.ByHand)
		}
	}
	b.WriteString("\n")
}
