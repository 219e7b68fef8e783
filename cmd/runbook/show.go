package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine/playbook"
)

type showOptions struct {
	io       *IOStreams
	Playbook string
	JSON     bool
}

func newShowCmd(io *IOStreams) *cobra.Command {
	opts := &showOptions{io: io}
	cmd := &cobra.Command{
		Use:   "show PLAYBOOK",
		Short: "Explain a playbook: parameters, warnings, steps and cleanup plan",
		Long: `Show what a playbook takes and does, without touching a device: its
parameters (type, default, description), the warnings shown before a run, each
step with its commands as written (${ } left unexpanded), and the cleanup plan:
the undo entries in the order they would run (newest first, each only if its
step ran), then the cleanup: section. --json gives the same for tools.

A PLAYBOOK is a file path, or the name of a built-in playbook with or without
.yaml; an existing file of that name wins.

Exit codes:
  0  shown
  2  the playbook has mistakes (see runbook validate) or does not exist`,
		Example: `  runbook show phase2-down
  runbook show examples/playbooks/ha-health.yaml --json | jq '.params'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Playbook = args[0]
			return runShow(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the same as JSON")
	return cmd
}

func runShow(opts *showOptions) error {
	pb, source, err := resolvePlaybook(opts.Playbook)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	v := describePlaybook(pb, source)
	if opts.JSON {
		enc := json.NewEncoder(opts.io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	return v.write(opts.io.Out)
}

// The JSON form of `show`. Expressions and templates appear as written.
type (
	shownPlaybook struct {
		Name        string         `json:"name"`
		Title       string         `json:"title"`
		Description string         `json:"description,omitempty"`
		Source      string         `json:"source"`
		SHA256      string         `json:"sha256"`
		Timeout     string         `json:"timeout,omitempty"`
		Warnings    []string       `json:"warnings"`
		Params      []shownParam   `json:"params"`
		Steps       []*shownStep   `json:"steps"`
		CleanupPlan []shownCleanup `json:"cleanup_plan"`
		Findings    []shownFinding `json:"findings"`
	}
	shownParam struct {
		Name        string   `json:"name"`
		Type        string   `json:"type"`
		Required    bool     `json:"required"`
		Default     *string  `json:"default,omitempty"`
		Description string   `json:"description,omitempty"`
		Values      []string `json:"values,omitempty"`
	}
	shownStep struct {
		Index   string `json:"index"`
		Pos     string `json:"pos"`
		Kind    string `json:"kind"`
		ID      string `json:"id,omitempty"`
		Name    string `json:"name,omitempty"`
		When    string `json:"when,omitempty"`
		OnError string `json:"on_error,omitempty"`
		Timeout string `json:"timeout,omitempty"`
		Command string `json:"command,omitempty"`
		// OneOf are every form of a run: one_of, the first (Command)
		// included.
		OneOf    []string          `json:"one_of,omitempty"`
		XML      string            `json:"xml,omitempty"`
		Message  string            `json:"message,omitempty"`
		Wait     string            `json:"wait,omitempty"`
		Default  string            `json:"default,omitempty"`
		Repeat   map[string]string `json:"repeat,omitempty"`
		ForEach  string            `json:"for_each,omitempty"`
		Until    string            `json:"until,omitempty"`
		Retry    map[string]string `json:"retry,omitempty"`
		Captures map[string]string `json:"captures,omitempty"`
		Parse    string            `json:"parse,omitempty"`
		Prompts  []string          `json:"prompts,omitempty"`
		// Undo are the undo entries as written: a string, or
		// {"one_of": [...]}.
		Undo   []any `json:"undo,omitempty"`
		undo   [][]string
		Export map[string]string `json:"export,omitempty"`
		If     string            `json:"if,omitempty"`
		Then   []*shownStep      `json:"then,omitempty"`
		Else   []*shownStep      `json:"else,omitempty"`
	}
	shownOneOf struct {
		OneOf []string `json:"one_of"`
	}
	shownCleanup struct {
		Command string `json:"command"`
		// OneOf are every form of an entry of several, Command the first.
		OneOf []string `json:"one_of,omitempty"`
		// From is "undo of step N" or "cleanup".
		From string `json:"from"`
		When string `json:"when,omitempty"`
	}
	shownFinding struct {
		ID       string              `json:"id,omitempty"`
		Severity string              `json:"severity"`
		When     string              `json:"when"`
		Message  string              `json:"message"`
		Evidence []playbook.Evidence `json:"evidence,omitempty"`
	}
)

func describePlaybook(pb *playbook.Playbook, source string) *shownPlaybook {
	v := &shownPlaybook{
		Name: pb.Name, Title: pb.Title, Description: strings.TrimSpace(pb.Description),
		Source: source, SHA256: pb.SHA256, Warnings: pb.Warnings,
		Params: []shownParam{}, Steps: describeSteps(pb.Steps, ""), CleanupPlan: []shownCleanup{},
		Findings: []shownFinding{},
	}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	if pb.Timeout > 0 {
		v.Timeout = playbook.FormatDuration(pb.Timeout)
	}
	for _, p := range pb.Params {
		sp := shownParam{Name: p.Name, Type: string(p.Type), Required: p.Required, Description: p.Description, Values: p.Values}
		if p.HasDefault {
			d := p.Default
			sp.Default = &d
		}
		v.Params = append(v.Params, sp)
	}
	// The undo stack: entries pushed in step order, popped newest first; a
	// step's own list runs in the order written (pushed in reverse).
	var stack []shownCleanup
	var push func(steps []*shownStep)
	push = func(steps []*shownStep) {
		for _, s := range steps {
			for i := len(s.undo) - 1; i >= 0; i-- {
				stack = append(stack, shownCleanup{Command: s.undo[i][0], OneOf: alternatives(s.undo[i]), From: "undo of step " + s.Index, When: "if step " + s.Index + " ran"})
			}
			push(s.Then)
			push(s.Else)
		}
	}
	push(v.Steps)
	for i := len(stack) - 1; i >= 0; i-- {
		v.CleanupPlan = append(v.CleanupPlan, stack[i])
	}
	for _, s := range describeSteps(pb.Cleanup, "c") {
		c := shownCleanup{Command: s.Command, OneOf: s.OneOf, From: "cleanup"}
		if c.Command == "" {
			c.Command = s.Kind + ": " + firstNonEmpty(s.Message, s.Wait, s.If)
		}
		if s.When != "" {
			c.When = "when " + s.When
		}
		v.CleanupPlan = append(v.CleanupPlan, c)
	}
	for _, f := range pb.Findings {
		v.Findings = append(v.Findings, shownFinding{ID: f.ID, Severity: string(f.Severity),
			When: exprSrc(f.When), Message: tmplSrc(f.Message), Evidence: f.Evidence})
	}
	return v
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func describeSteps(steps []*playbook.Step, prefix string) []*shownStep {
	out := make([]*shownStep, 0, len(steps))
	for i, s := range steps {
		// 1, 2, ...; then-branch 2.1, 2.2; else-branch 2.e1; cleanup c1.
		idx := prefix + strconv.Itoa(i+1)
		v := &shownStep{
			Index: idx, Pos: s.Pos.String(), Kind: string(s.Kind), ID: s.ID, Name: s.Name,
			When: exprSrc(s.When), OnError: string(s.OnError),
			Command: tmplSrc(s.Run), XML: tmplSrc(s.XML), Message: tmplSrc(s.Message),
			Parse: s.Parse, Until: exprSrc(s.Until), If: exprSrc(s.If), ForEach: exprSrc(s.ForEach),
		}
		if s.Timeout > 0 {
			v.Timeout = playbook.FormatDuration(s.Timeout)
		}
		if s.Kind == playbook.KindPrompt {
			if s.PromptTimeout > 0 {
				v.Timeout = playbook.FormatDuration(s.PromptTimeout)
			}
			v.Default = s.Default
		}
		if s.Wait != nil {
			v.Wait = durSrc(s.Wait)
		}
		if r := s.Repeat; r != nil {
			v.Repeat = map[string]string{"count": intSrc(r.Count)}
			if r.Interval != nil {
				v.Repeat["interval"] = durSrc(r.Interval)
			}
		}
		if r := s.Retry; r != nil {
			v.Retry = map[string]string{"max": strconv.Itoa(r.Max)}
			if r.Interval > 0 {
				v.Retry["interval"] = playbook.FormatDuration(r.Interval)
			}
		}
		if len(s.Captures) > 0 {
			v.Captures = map[string]string{}
			for _, c := range s.Captures {
				if c.Regex != nil {
					v.Captures[c.Name] = "regex " + c.Regex.String()
				} else {
					v.Captures[c.Name] = "expr " + exprSrc(c.Expr)
				}
			}
		}
		for _, a := range s.Prompts {
			ans := tmplSrc(a.Answer)
			if a.Secret {
				ans += " (secret)"
			}
			v.Prompts = append(v.Prompts, fmt.Sprintf("%s -> %s", a.Match, ans))
		}
		if s.OneOf != nil {
			v.OneOf = trimmed(s.OneOf.Srcs())
		}
		for _, u := range s.Undo {
			forms := trimmed(u.Srcs())
			v.undo = append(v.undo, forms)
			if len(forms) == 1 {
				v.Undo = append(v.Undo, forms[0])
			} else {
				v.Undo = append(v.Undo, shownOneOf{OneOf: forms})
			}
		}
		if e := s.Export; e != nil {
			v.Export = map[string]string{"category": e.Category}
			if e.File != nil {
				v.Export["file"] = tmplSrc(e.File)
			}
			if e.ScpTo != nil {
				v.Export["scp_to"] = tmplSrc(e.ScpTo)
			}
		}
		if s.Kind == playbook.KindIf {
			v.Then = describeSteps(s.Then, idx+".")
			v.Else = describeSteps(s.Else, idx+".e")
		}
		out = append(out, v)
	}
	return out
}

// alternatives are forms when there are several, nil for one.
func alternatives(forms []string) []string {
	if len(forms) < 2 {
		return nil
	}
	return forms
}

func trimmed(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func exprSrc(e *playbook.Expr) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Src)
}

func tmplSrc(t *playbook.Template) string {
	if t == nil {
		return ""
	}
	return strings.TrimSpace(t.Src)
}

func intSrc(v *playbook.IntValue) string {
	if v == nil {
		return ""
	}
	if v.Expr != nil {
		return "${" + v.Expr.Src + "}"
	}
	return strconv.Itoa(v.Value)
}

func durSrc(v *playbook.DurationValue) string {
	if v.Expr != nil {
		return "${" + v.Expr.Src + "}"
	}
	return playbook.FormatDuration(v.Value)
}

// write prints v for a person.
func (v *shownPlaybook) write(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s: %s\n", v.Name, v.Title)
	fmt.Fprintf(b, "from %s (sha256 %s)\n", v.Source, v.SHA256[:12])
	if v.Description != "" {
		fmt.Fprintf(b, "\n%s\n", v.Description)
	}
	if len(v.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, x := range v.Warnings {
			fmt.Fprintf(b, "  ! %s\n", x)
		}
	}
	b.WriteString("\nParameters:\n")
	if len(v.Params) == 0 {
		b.WriteString("  (none)\n")
	} else {
		tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
		for _, p := range v.Params {
			typ := p.Type
			if len(p.Values) > 0 {
				typ += " (" + strings.Join(p.Values, "|") + ")"
			}
			def := "-"
			switch {
			case p.Required:
				def = "required"
			case p.Default != nil:
				def = "default " + *p.Default
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, typ, def, p.Description)
		}
		tw.Flush()
	}
	if v.Timeout != "" {
		fmt.Fprintf(b, "\nDefault step timeout: %s\n", v.Timeout)
	}
	b.WriteString("\nSteps:\n")
	writeSteps(b, v.Steps, 1)
	b.WriteString("\nCleanup plan (always runs; undo entries only for steps that ran, newest first):\n")
	if len(v.CleanupPlan) == 0 {
		b.WriteString("  (nothing)\n")
	}
	tw := tabwriter.NewWriter(b, 0, 4, 4, ' ', 0)
	for i, c := range v.CleanupPlan {
		from := c.From
		if c.From != "cleanup" {
			from += ", if it ran"
		} else if c.When != "" {
			from += ", " + c.When
		}
		fmt.Fprintf(tw, "  %2d. %s\t[%s]\n", i+1, c.Command, from)
		for _, alt := range c.OneOf[min(1, len(c.OneOf)):] {
			fmt.Fprintf(tw, "      or %s\t\n", alt)
		}
	}
	tw.Flush()
	if len(v.Findings) > 0 {
		b.WriteString("\nFindings:\n")
		for _, f := range v.Findings {
			id := ""
			if f.ID != "" {
				id = " " + f.ID
			}
			fmt.Fprintf(b, "  %s%s: when %s\n      %s\n", f.Severity, id, f.When, f.Message)
		}
	}
	// tabwriter pads the last column too; drop trailing spaces.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func writeSteps(b *strings.Builder, steps []*shownStep, depth int) {
	ind := strings.Repeat("  ", depth)
	for _, s := range steps {
		head := fmt.Sprintf("%s%s. ", ind, s.Index)
		label := ""
		if s.ID != "" {
			label = "[" + s.ID + "] "
		}
		if s.Name != "" {
			label += s.Name + ": "
		}
		var what string
		switch s.Kind {
		case "run":
			what = "run " + s.Command
			if len(s.OneOf) > 1 {
				what = "run one of: " + s.OneOf[0]
			}
		case "wait":
			what = "wait " + s.Wait
			if s.Message != "" {
				what += " (" + s.Message + ")"
			}
		case "prompt":
			what = "prompt: " + s.Message
		case "note":
			what = "note: " + s.Message
		case "export":
			what = "export " + s.Export["category"]
			if f := s.Export["file"]; f != "" {
				what += " " + f
			}
		case "if":
			what = "if " + s.If
		}
		fmt.Fprintf(b, "%s%s%s\n", head, label, what)
		detail := ind + strings.Repeat(" ", len(s.Index)+2)
		line := func(format string, a ...any) { fmt.Fprintf(b, detail+format+"\n", a...) }
		for _, alt := range s.OneOf[min(1, len(s.OneOf)):] {
			line("    or %s", alt)
		}
		if s.When != "" {
			line("when %s", s.When)
		}
		if s.XML != "" {
			line("xml %s", s.XML)
		}
		if s.ForEach != "" {
			line("for each item of %s (at most %d; none: skipped)", s.ForEach, playbook.MaxItems)
		}
		if s.Repeat != nil {
			if iv := s.Repeat["interval"]; iv != "" {
				line("repeat %s times, every %s", s.Repeat["count"], iv)
			} else {
				line("repeat %s times", s.Repeat["count"])
			}
		}
		if s.Until != "" {
			line("until %s (at most %s tries, every %s)", s.Until, s.Retry["max"], firstNonEmpty(s.Retry["interval"], "0s"))
		}
		if s.Timeout != "" {
			if s.Kind == "prompt" {
				line("timeout %s, then %s", s.Timeout, s.Default)
			} else {
				line("timeout %s", s.Timeout)
			}
		}
		if len(s.Captures) > 0 {
			names := make([]string, 0, len(s.Captures))
			for n := range s.Captures {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				line("capture vars.%s: %s", n, s.Captures[n])
			}
		}
		if s.Parse != "" {
			line("parse %s", s.Parse)
		}
		for _, p := range s.Prompts {
			line("answer %s", p)
		}
		if to := s.Export["scp_to"]; to != "" {
			line("scp to %s (when the transport cannot pull files)", to)
		}
		for _, u := range s.undo {
			if len(u) == 1 {
				line("undo %s", u[0])
				continue
			}
			line("undo one of: %s", u[0])
			for _, alt := range u[1:] {
				line("             or %s", alt)
			}
		}
		if s.OnError == "continue" {
			line("on error: continue")
		}
		if s.Kind == "if" {
			line("then:")
			writeSteps(b, s.Then, depth+2)
			if len(s.Else) > 0 {
				line("else:")
				writeSteps(b, s.Else, depth+2)
			}
		}
	}
}
