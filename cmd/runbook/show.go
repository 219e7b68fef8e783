package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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

` + exitHelp("show"),
		Example: `  runbook show phase2-down
  runbook show examples/playbooks/ha-health.yaml --json | jq '.params'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Playbook = args[0]
			return runShow(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the same as JSON")
	cmd.ValidArgsFunction = completePlaybook(false)
	return cmd
}

func runShow(opts *showOptions) error {
	pb, source, err := resolvePlaybook(opts.Playbook)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	v, err := playbook.NewOutline(pb, source)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	return writeOutline(opts.io.Out, v)
}

// writeOutline prints v for a person.
func writeOutline(w io.Writer, v *playbook.Outline) error {
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
		fmt.Fprintf(tw, "  %2d. %s\t[%s]\n", i+1, c.Command, cleanupFrom(c))
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
			writeFinding(b, f, id)
		}
	}
	if c := v.Case; c != nil {
		fmt.Fprintf(b, "\nFindings across the ends (%s: the first %d targets of a run of several; one target ignores them):\n", strings.Join(c.Ends, ", "), len(c.Ends))
		for _, f := range c.Findings {
			id := ""
			if f.ID != "" {
				id = " " + f.ID
			}
			writeFinding(b, f, id)
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

// cleanupFrom says where the cleanup plan's entry c comes from, and
// when it runs: an undo only if its step ran, a cleanup entry with its
// when:.
func cleanupFrom(c playbook.OutlineCleanup) string {
	if c.From != "cleanup" {
		return c.From + ", if it ran"
	}
	if c.When != "" {
		return c.From + ", " + c.When
	}
	return c.From
}

func writeSteps(b *strings.Builder, steps []*playbook.OutlineStep, depth int) {
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
		for _, lt := range s.Let {
			switch { // a dry run's plan only: the value, or what it depends on
			case lt.Value != nil:
				line("let %s = %s  (= %s)", lt.Name, lt.Expr, *lt.Value)
			case lt.Depends != "":
				line("let %s = %s  (depends on %s)", lt.Name, lt.Expr, lt.Depends)
			default:
				line("let %s = %s", lt.Name, lt.Expr)
			}
		}
		if s.When != "" {
			line("when %s", s.When)
		}
		if s.XML != "" {
			line("xml %s", s.XML)
		}
		switch s.Will { // a dry run's plan only
		case "skip":
			line("SKIPPED: %s", s.Because)
		case "depends":
			line("%s", s.Because)
		}
		switch {
		case s.ForEach != "" && s.Items != nil:
			line("for each item of %s: %s", s.ForEach, strings.Join(s.Items, ", "))
			for _, c := range s.Commands {
				line("  run %s", c)
			}
		case s.ForEach != "":
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
			line("until %s (at most %s tries, every %s)", s.Until, s.Retry["max"], cmp.Or(s.Retry["interval"], "0s"))
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
		for _, u := range s.UndoForms {
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
		if s.NotEvidence {
			line("evidence: false (a failure here is not missing evidence)")
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

// writeFinding prints one finding: its severity and id, its lets in
// order when it has any, its condition and its message.
func writeFinding(b *strings.Builder, f playbook.OutlineFinding, id string) {
	if len(f.Let) == 0 {
		fmt.Fprintf(b, "  %s%s: when %s\n      %s\n", f.Severity, id, f.When, f.Message)
		return
	}
	fmt.Fprintf(b, "  %s%s:\n", f.Severity, id)
	for _, lt := range f.Let {
		fmt.Fprintf(b, "      let %s = %s\n", lt.Name, lt.Expr)
	}
	fmt.Fprintf(b, "      when %s\n      %s\n", f.When, f.Message)
}
