package playbook

// This file is the outline of a playbook: what it takes and does, as
// `runbook show` prints it (templates as written) and as `runbook run
// --dry-run` prints it (plan.go: the params bound, templates rendered).
// It owns the cleanup-plan rule as a reader sees it: undo entries newest
// first (a step's own list in the order written), then the cleanup:
// section, the order the engine's ledger drains them in.

import (
	"fmt"
	"strconv"
	"strings"
)

// OutlineVersion is the version of the JSON form of an Outline; it changes
// when a field changes meaning or goes away.
const OutlineVersion = 1

// Outline is a playbook explained: its parameters, warnings, steps, cleanup
// plan and findings. NewOutline gives it as written; Plan gives it as a run
// with given values would send it (the fields marked "plan" are set only
// then). It is plain data, encoded as JSON by `show --json` and `run
// --dry-run --json`.
type Outline struct {
	Name        string           `json:"name"`
	Title       string           `json:"title"`
	Description string           `json:"description,omitempty"`
	Source      string           `json:"source"`
	SHA256      string           `json:"sha256"`
	Timeout     string           `json:"timeout,omitempty"`
	Warnings    []string         `json:"warnings"`
	Params      []OutlineParam   `json:"params"`
	Steps       []*OutlineStep   `json:"steps"`
	CleanupPlan []OutlineCleanup `json:"cleanup_plan"`
	Findings    []OutlineFinding `json:"findings"`
	// Case is the case: section, absent without one.
	Case *OutlineCase `json:"case,omitempty"`

	// plan: the target, the prompts the operator answers and the exports,
	// in step order.
	Target  *PlanTarget    `json:"target,omitempty"`
	Prompts []PlanPrompt   `json:"prompts,omitempty"`
	Exports []PlanExport   `json:"exports,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
	Bound   map[string]any `json:"-"`
}

// OutlineParam is one parameter of an Outline.
type OutlineParam struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     *string  `json:"default,omitempty"`
	Description string   `json:"description,omitempty"`
	Values      []string `json:"values,omitempty"`
	// plan: the value the run uses (a secret as its reference, env:NAME,
	// never its value) and where it came from: given (--param), target
	// (the inventory, the demo target or a cassette), default, or unset.
	Value *string `json:"value,omitempty"`
	From  string  `json:"from,omitempty"`
}

// OutlineStep is one step of an Outline. Index numbers it: 1, 2, ...; the
// then-branch of step 2 is 2.1, 2.2, its else-branch 2.e1; cleanup
// entries c1, c2.
type OutlineStep struct {
	Index string `json:"index"`
	Pos   string `json:"pos"`
	Kind  string `json:"kind"`
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	// Let are the step's lets, in the order they are evaluated (before
	// When); in a plan each with its value or what it depends on.
	Let     []OutlineLet `json:"let,omitempty"`
	When    string       `json:"when,omitempty"`
	OnError string       `json:"on_error,omitempty"`
	// NotEvidence is the step's evidence: false: its failure is not
	// missing evidence.
	NotEvidence bool   `json:"not_evidence,omitempty"`
	Timeout     string `json:"timeout,omitempty"`
	Command     string `json:"command,omitempty"`
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
	// Undo are the undo entries: a string, or {"one_of": [...]}.
	Undo []any `json:"undo,omitempty"`
	// UndoForms are the same, each entry as its list of forms.
	UndoForms [][]string        `json:"-"`
	Export    map[string]string `json:"export,omitempty"`
	If        string            `json:"if,omitempty"`
	Then      []*OutlineStep    `json:"then,omitempty"`
	Else      []*OutlineStep    `json:"else,omitempty"`

	// plan: whether the step runs (run, skip, or depends: on what the
	// device answers), and why; for a for_each whose list is known, its
	// items and the command sent for each.
	Will     string   `json:"will,omitempty"`
	Because  string   `json:"because,omitempty"`
	Items    []string `json:"items,omitempty"`
	Commands []string `json:"commands,omitempty"`
}

// OutlineOneOf is an undo entry of several forms in JSON.
type OutlineOneOf struct {
	OneOf []string `json:"one_of"`
}

// OutlineCleanup is one entry of the cleanup plan.
type OutlineCleanup struct {
	Command string `json:"command"`
	// OneOf are every form of an entry of several, Command the first.
	OneOf []string `json:"one_of,omitempty"`
	// From is "undo of step N" or "cleanup".
	From string `json:"from"`
	When string `json:"when,omitempty"`
}

// OutlineFinding is one finding rule, as written.
type OutlineFinding struct {
	ID       string `json:"id,omitempty"`
	Severity string `json:"severity"`
	// Let are the finding's lets, in the order they are evaluated.
	Let      []OutlineLet `json:"let,omitempty"`
	When     string       `json:"when"`
	Message  string       `json:"message"`
	Evidence []Evidence   `json:"evidence,omitempty"`
}

// OutlineLet is one let of a finding or a step, as written.
type OutlineLet struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
	// plan, a step's let: its value when it is known without the
	// device, else what it depends on (as a template's <src: why> says:
	// the steps, vars and target facts it reads, a secret never shown).
	Value   *string `json:"value,omitempty"`
	Depends string  `json:"depends,omitempty"`
}

// outlineFinding is f as written.
func outlineFinding(f *Finding) OutlineFinding {
	o := OutlineFinding{ID: f.ID, Severity: string(f.Severity),
		When: exprSrc(f.When), Message: tmplSrc(f.Message), Evidence: f.Evidence}
	for _, lt := range f.Lets {
		o.Let = append(o.Let, OutlineLet{Name: lt.Name, Expr: exprSrc(lt.Expr)})
	}
	return o
}

// NewOutline explains pb as written: expressions and templates appear as
// in the file, ${ } unexpanded. source says where pb was found ("file X",
// "built-in X").
// It fails only when pb's steps cannot be read again (ErrChanged).
func NewOutline(pb *Playbook, source string) (*Outline, error) {
	steps, err := pb.AllSteps()
	if err != nil {
		return nil, err
	}
	return outline(pb, steps, source, nil), nil
}

// outline builds the outline of pb, whose top-level steps are steps,
// rendered by r when it is not nil (plan.go), else as written.
func outline(pb *Playbook, steps []*Step, source string, r *renderer) *Outline {
	v := &Outline{
		Name: pb.Name, Title: pb.Title, Description: strings.TrimSpace(pb.Description),
		Source: source, SHA256: pb.SHA256, Warnings: pb.Warnings,
		Params: []OutlineParam{}, CleanupPlan: []OutlineCleanup{},
		Findings: []OutlineFinding{},
	}
	v.Steps = describeSteps(steps, "", r, nil)
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	if pb.Timeout > 0 {
		v.Timeout = FormatDuration(pb.Timeout)
	}
	for _, p := range pb.Params {
		sp := OutlineParam{Name: p.Name, Type: string(p.Type), Required: p.Required, Description: p.Description, Values: p.Values}
		if p.HasDefault {
			d := p.Default
			sp.Default = &d
		}
		v.Params = append(v.Params, sp)
	}
	// The undo stack: entries pushed in step order, popped newest first; a
	// step's own list runs in the order written (pushed in reverse). A
	// step a plan knows is skipped arms nothing.
	var stack []OutlineCleanup
	var push func(steps []*OutlineStep)
	push = func(steps []*OutlineStep) {
		for _, s := range steps {
			if s.Will != willSkip {
				for i := len(s.UndoForms) - 1; i >= 0; i-- {
					stack = append(stack, OutlineCleanup{Command: s.UndoForms[i][0], OneOf: alternatives(s.UndoForms[i]), From: "undo of step " + s.Index, When: "if step " + s.Index + " ran"})
				}
			}
			push(s.Then)
			push(s.Else)
		}
	}
	push(v.Steps)
	for i := len(stack) - 1; i >= 0; i-- {
		v.CleanupPlan = append(v.CleanupPlan, stack[i])
	}
	for _, s := range describeSteps(pb.Cleanup, "c", r, nil) {
		if s.Will == willSkip {
			continue
		}
		c := OutlineCleanup{Command: s.Command, OneOf: s.OneOf, From: "cleanup"}
		if c.Command == "" {
			c.Command = s.Kind + ": " + firstNonEmpty(s.Message, s.Wait, s.If)
		}
		switch {
		case s.Will == willDepends:
			c.When = "when " + s.When + ": " + s.Because
		case s.When != "" && s.Will == "":
			c.When = "when " + s.When
		}
		v.CleanupPlan = append(v.CleanupPlan, c)
	}
	for _, f := range pb.Findings {
		v.Findings = append(v.Findings, outlineFinding(f))
	}
	if pb.Case != nil {
		v.Case = &OutlineCase{Ends: pb.Case.Ends, Findings: []OutlineFinding{}}
		for _, f := range pb.Case.Findings {
			v.Case.Findings = append(v.Case.Findings, outlineFinding(f))
		}
	}
	return v
}

// OutlineCase is the case: section of an Outline: the ends' names and the
// findings across them.
type OutlineCase struct {
	Ends     []string         `json:"ends"`
	Findings []OutlineFinding `json:"findings"`
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// describeSteps outlines steps, numbered after prefix. With a renderer the
// templates are rendered and each step says whether it will run; parent
// is the decision of the enclosing if branch (nil at the top).
func describeSteps(steps []*Step, prefix string, r *renderer, parent *decision) []*OutlineStep {
	out := make([]*OutlineStep, 0, len(steps))
	for i, s := range steps {
		idx := prefix + strconv.Itoa(i+1)
		v := &OutlineStep{
			Index: idx, Pos: s.Pos.String(), Kind: string(s.Kind), ID: s.ID, Name: s.Name,
			When: exprSrc(s.When), OnError: string(s.OnError), NotEvidence: s.NotEvidence,
			Parse: s.Parse, Until: exprSrc(s.Until), If: exprSrc(s.If), ForEach: exprSrc(s.ForEach),
		}
		for _, lt := range s.Lets {
			v.Let = append(v.Let, OutlineLet{Name: lt.Name, Expr: exprSrc(lt.Expr)})
		}
		var d *decision
		leave := func() {}
		if r != nil {
			// The step's lets first, as a run evaluates them: what follows
			// renders with their values, or says what they depend on.
			leave = r.enterLets(s, v.Let)
			d = r.decide(s, parent)
			v.Will, v.Because = d.will, d.because
		}
		// tm is a template as written, or rendered for a plan (${item}
		// stays unknown here; forEach renders each known item).
		tm := func(t *Template) string {
			if r == nil {
				return tmplSrc(t)
			}
			return r.template(t, s)
		}
		v.Command, v.XML, v.Message = tm(s.Run), tm(s.XML), tm(s.Message)
		if s.Timeout > 0 {
			v.Timeout = FormatDuration(s.Timeout)
		}
		if s.Kind == KindPrompt {
			if s.PromptTimeout > 0 {
				v.Timeout = FormatDuration(s.PromptTimeout)
			}
			v.Default = s.Default
		}
		if s.Wait != nil {
			v.Wait = r.duration(s.Wait)
		}
		if rp := s.Repeat; rp != nil {
			v.Repeat = map[string]string{"count": r.count(rp.Count)}
			if rp.Interval != nil {
				v.Repeat["interval"] = r.duration(rp.Interval)
			}
		}
		if rt := s.Retry; rt != nil {
			v.Retry = map[string]string{"max": strconv.Itoa(rt.Max)}
			if rt.Interval > 0 {
				v.Retry["interval"] = FormatDuration(rt.Interval)
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
			ans := tm(a.Answer)
			if a.Secret {
				ans = tmplSrc(a.Answer) + " (secret)"
			}
			v.Prompts = append(v.Prompts, fmt.Sprintf("%s -> %s", a.Match, ans))
		}
		if s.OneOf != nil {
			v.OneOf = make([]string, len(s.OneOf))
			for k, f := range s.OneOf {
				v.OneOf[k] = tm(f)
			}
		}
		for _, u := range s.Undo {
			forms := make([]string, len(u))
			for k, f := range u {
				forms[k] = tm(f)
			}
			v.UndoForms = append(v.UndoForms, forms)
			if len(forms) == 1 {
				v.Undo = append(v.Undo, forms[0])
			} else {
				v.Undo = append(v.Undo, OutlineOneOf{OneOf: forms})
			}
		}
		if e := s.Export; e != nil {
			v.Export = map[string]string{"category": e.Category}
			if e.File != nil {
				v.Export["file"] = tm(e.File)
			}
			if e.ScpTo != nil {
				v.Export["scp_to"] = tm(e.ScpTo)
			}
		}
		if r != nil {
			r.forEach(s, v)
		}
		if s.Kind == KindIf {
			then, els := d, d
			if r != nil {
				then, els = r.branches(s, d)
			}
			v.Then = describeSteps(s.Then, idx+".", r, then)
			v.Else = describeSteps(s.Else, idx+".e", r, els)
		}
		leave()
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

func exprSrc(e *Expr) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Src)
}

func tmplSrc(t *Template) string {
	if t == nil {
		return ""
	}
	return strings.TrimSpace(t.Src)
}

func intSrc(v *IntValue) string {
	if v == nil {
		return ""
	}
	if v.Expr != nil {
		return "${" + v.Expr.Src + "}"
	}
	return strconv.Itoa(v.Value)
}

func durSrc(v *DurationValue) string {
	if v.Expr != nil {
		return "${" + v.Expr.Src + "}"
	}
	return FormatDuration(v.Value)
}
