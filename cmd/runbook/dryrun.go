package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/examples"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/dual"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// dryRunVersion is the version of the JSON document `run --dry-run
// --json` prints; the plans in it are playbook.Outline (OutlineVersion).
const dryRunVersion = 1

// dryRunDoc is the JSON form of a dry run: one plan per target.
type dryRunDoc struct {
	Version int                 `json:"version"`
	DryRun  bool                `json:"dry_run"`
	Plans   []*playbook.Outline `json:"plans"`
	// Case is how the first targets would run as the ends of one case
	// (the playbook's case: section); nil when they would not.
	Case *casePlan `json:"case,omitempty"`
}

// casePlan is what a dry run says of a case: which target is which end,
// the steps whose runs the ends would start together, and the findings
// across the ends.
type casePlan struct {
	Ends     []caseEnd `json:"ends"`
	Together []string  `json:"sampled_together,omitempty"`
	Prompts  []string  `json:"prompts_once,omitempty"` // ids, else texts
	Findings []string  `json:"findings"`
}

type caseEnd struct {
	End    string `json:"end"`
	Target string `json:"target"`
}

// planCase is the case the first targets would form, or nil (no case:
// section, or fewer targets than ends), as the run decides.
func planCase(pb *playbook.Playbook, targets []target) (*casePlan, error) {
	if pb.Case == nil || len(targets) < 2 || len(targets) < len(pb.Case.Ends) {
		return nil, nil
	}
	steps, err := pb.AllSteps()
	if err != nil {
		return nil, err
	}
	c := &casePlan{}
	for i, e := range pb.Case.Ends {
		c.Ends = append(c.Ends, caseEnd{End: e, Target: targets[i].t.Name})
	}
	var walk func([]*playbook.Step)
	walk = func(steps []*playbook.Step) {
		for _, s := range steps {
			switch {
			case s.Kind == playbook.KindPrompt && s.Message != nil:
				c.Prompts = append(c.Prompts, cmpOr(s.ID, strconv.Quote(s.Message.Src)))
			case s.Repeat != nil || s.Kind == playbook.KindWait:
				c.Together = append(c.Together, cmpOr(s.ID, fmt.Sprintf("%s at line %d", s.Kind, s.Line)))
			}
			walk(s.Then)
			walk(s.Else)
		}
	}
	walk(steps)
	for _, f := range pb.Case.Findings {
		c.Findings = append(c.Findings, f.ID)
	}
	return c, nil
}

// writeCase prints the case part of a dry run.
func writeCase(w io.Writer, c *casePlan) {
	ends := make([]string, len(c.Ends))
	for i, e := range c.Ends {
		ends[i] = e.Target + " as end " + e.End
	}
	fmt.Fprintf(w, "\nCase: %s, one case folder\n", strings.Join(ends, ", "))
	if len(c.Together) > 0 {
		fmt.Fprintf(w, "  started together on every end (a shared start and interval): %s\n", strings.Join(c.Together, ", "))
	}
	for _, p := range c.Prompts {
		fmt.Fprintf(w, "  asked once for the case: %s\n", p)
	}
	fmt.Fprintf(w, "  findings across the ends: %s\n", strings.Join(c.Findings, ", "))
}

// dryRun prints the plan of a run whose input checkRun accepted: for each
// target the commands with their values, the undo of each, the cleanup
// plan, the prompts and the exports. It opens nothing: no target is
// dialled, no folder is written.
func dryRun(opts *runOptions, in *runInput) error {
	doc := dryRunDoc{Version: dryRunVersion, DryRun: true}
	for i, t := range in.targets {
		p, err := in.pb.Plan(in.source, playbook.PlanInput{
			Values:  in.bound[i],
			From:    in.from[i],
			Target:  playbook.PlanTarget{Name: t.t.Name, Transport: t.t.Transport, Address: planAddress(t.t)},
			Exports: planExports(t.t),
		})
		if err != nil {
			return err
		}
		doc.Plans = append(doc.Plans, p)
	}
	var err error
	if doc.Case, err = planCase(in.pb, in.targets); err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	}
	for i, p := range doc.Plans {
		if i > 0 {
			fmt.Fprintln(opts.io.Out)
		}
		if err := writePlan(opts.io.Out, p); err != nil {
			return err
		}
	}
	if doc.Case != nil {
		writeCase(opts.io.Out, doc.Case)
	}
	fmt.Fprintln(opts.io.ErrOut, "runbook: dry run: nothing was sent, no run folder was written")
	return nil
}

// planAddress says how t would be reached.
func planAddress(t transports.Target) string {
	hostPort := func(def int) string {
		p := t.Port
		if p == 0 {
			p = def
		}
		return net.JoinHostPort(t.Host, strconv.Itoa(p))
	}
	var s string
	switch {
	case t.Transport == "replay":
		return "cassette " + strings.TrimPrefix(t.Cassette, builtinCassette)
	case isDemo(t.Name) && t.Port == 0:
		return "the simulator, started on a free loopback port"
	case t.Panorama != nil:
		s = "serial " + t.Serial + " through Panorama " + t.Via
	case t.Transport == "xmlapi":
		s = "https://" + hostPort(443)
	case t.Transport == dual.Name:
		ssh, api := t.Ports["ssh"], t.Ports["xmlapi"]
		s = fmt.Sprintf("ssh %s, https %s", net.JoinHostPort(t.Host, strconv.Itoa(cmpOr(ssh, 22))), net.JoinHostPort(t.Host, strconv.Itoa(cmpOr(api, 443))))
	default:
		s = hostPort(22)
		if t.User != "" {
			s = t.User + "@" + s
		}
	}
	if len(t.Jumps) > 0 {
		names := make([]string, len(t.Jumps))
		for i, j := range t.Jumps {
			names[i] = cmpOr(j.Name, j.Host)
		}
		s += " via " + strings.Join(names, ", ")
	}
	return s
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// planExports says what t's transport does with an export, as the opened
// transport would (its CanExport and Interactive), without opening it.
func planExports(t transports.Target) playbook.Exports {
	// CanExport of the XML API client depends on the category alone.
	api := (&xmlapi.Client{}).CanExport
	switch t.Transport {
	case "xmlapi":
		return playbook.Exports{Transport: t.Transport, CanPull: api}
	case dual.Name:
		return playbook.Exports{Transport: t.Transport, CanPull: api, Interactive: true}
	case "replay":
		var c *replay.Cassette
		if name, ok := strings.CutPrefix(t.Cassette, builtinCassette); ok {
			c, _ = examples.Cassette(name)
		} else {
			c, _ = replay.Open(t.Cassette)
		}
		if c == nil {
			return playbook.Exports{Transport: t.Transport}
		}
		return playbook.Exports{Transport: t.Transport, Interactive: c.Target.Transport != "xmlapi",
			CanPull: func(cat string) bool { return slices.Contains(c.ExportCategories, cat) }}
	}
	return playbook.Exports{Transport: t.Transport, Interactive: true}
}

// writePlan prints a dry run's plan for a person: the outline as `show`
// prints it, with the values filled in and what each step will do.
func writePlan(w io.Writer, v *playbook.Outline) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Dry run: %s against %s (%s, %s); nothing is sent\n", v.Name, v.Target.Name, v.Target.Transport, v.Target.Address)
	fmt.Fprintf(b, "%s: %s\n", v.Name, v.Title)
	fmt.Fprintf(b, "from %s (sha256 %s)\n", v.Source, v.SHA256[:12])
	if len(v.Warnings) > 0 {
		b.WriteString("\nWarnings (the operator confirms them first):\n")
		for _, x := range v.Warnings {
			fmt.Fprintf(b, "  ! %s\n", x)
		}
	}
	b.WriteString("\nParameters:\n")
	if len(v.Params) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, p := range v.Params {
		val := "(unset)"
		if p.Value != nil && p.From != "unset" {
			val = strconv.Quote(*p.Value)
			if *p.Value != "" && !strings.ContainsAny(*p.Value, " \t\"\\") {
				val = *p.Value
			}
		}
		fmt.Fprintf(b, "  %s = %s  [%s]\n", p.Name, val, p.From)
	}
	b.WriteString("\nSteps:\n")
	writeSteps(b, v.Steps, 1)
	b.WriteString("\nCleanup plan (undo entries newest first, each only if its step ran; then cleanup):\n")
	if len(v.CleanupPlan) == 0 {
		b.WriteString("  (nothing)\n")
	}
	for i, c := range v.CleanupPlan {
		fmt.Fprintf(b, "  %2d. %s  [%s]\n", i+1, c.Command, cleanupFrom(c))
		for _, alt := range c.OneOf[min(1, len(c.OneOf)):] {
			fmt.Fprintf(b, "      or %s\n", alt)
		}
	}
	if len(v.Prompts) > 0 {
		b.WriteString("\nPrompts:\n")
		for _, p := range v.Prompts {
			fmt.Fprintf(b, "  step %s: %s", p.Step, p.Message)
			if p.Timeout != "" {
				fmt.Fprintf(b, " (after %s: %s)", p.Timeout, p.Default)
			}
			if p.Will != "run" {
				fmt.Fprintf(b, " [%s]", p.Will)
			}
			b.WriteString("\n")
		}
	}
	if len(v.Exports) > 0 {
		b.WriteString("\nExports:\n")
		for _, e := range v.Exports {
			what := e.Category
			if e.File != "" {
				what += " " + e.File
			}
			fmt.Fprintf(b, "  step %s: %s: %s", e.Step, what, e.Way)
			if e.Command != "" {
				fmt.Fprintf(b, ": %s", e.Command)
			}
			fmt.Fprintf(b, " (%s)", e.Why)
			if e.Will != "run" {
				fmt.Fprintf(b, " [%s]", e.Will)
			}
			b.WriteString("\n")
		}
	}
	if len(v.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range v.Notes {
			fmt.Fprintf(b, "  - %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
