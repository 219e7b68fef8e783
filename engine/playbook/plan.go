package playbook

// This file is the plan of a dry run: the outline of a playbook with the
// params bound and every template rendered as far as it can be without a
// device. What only the device's answers tell (vars, steps, output, item
// of a for_each over them, the target's facts) is shown as such:
// <vars.session_id: from step esp_session_from_peer>.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/runbook-dev/runbook/secret"
)

// The values of OutlineStep.Will.
const (
	willRun     = "run"
	willSkip    = "skip"
	willDepends = "depends"
)

// PlanTarget is the target a plan is for, as the inventory names it.
type PlanTarget struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	// Address is how it would be reached (host:port, a cassette, ...).
	Address string `json:"address,omitempty"`
}

// PlanPrompt is one prompt step the operator answers, in step order.
type PlanPrompt struct {
	Step    string `json:"step"`
	Message string `json:"message"`
	Timeout string `json:"timeout,omitempty"`
	Default string `json:"default,omitempty"`
	Will    string `json:"will"`
}

// PlanExport is one export step and what the run would do with it: pull
// it over the transport into artifacts/, push it with scp export, or
// note it for attaching by hand.
type PlanExport struct {
	Step     string `json:"step"`
	Category string `json:"category"`
	File     string `json:"file,omitempty"`
	// Way is pull, scp or note.
	Way string `json:"way"`
	// Command is the scp export command sent (way scp).
	Command string `json:"command,omitempty"`
	Why     string `json:"why"`
	Will    string `json:"will"`
}

// Exports says what a transport can do with an export step, as the
// engine decides it (engine/export.go): pull the categories CanPull
// accepts; else push with scp export when a destination is given and the
// transport is Interactive (it answers the password question); else note.
type Exports struct {
	Transport   string
	CanPull     func(category string) bool
	Interactive bool
}

// PlanInput is what a plan is made from: the values Bind returned, where
// each came from (given, target, default; see OutlineParam.From), the
// target and its transport's export abilities.
type PlanInput struct {
	Values  map[string]any
	From    map[string]string
	Target  PlanTarget
	Exports Exports
}

// Plan is the outline of p as a run with in would send it: each command
// rendered with the bound values, each step marked run, skip (its when:
// or if: reads params only and is false) or depends, the undo entries of
// the steps that may run, the cleanup plan, the prompts and the exports.
// Plan sends nothing and reads no secret: a secret param shows as
// <secret params.NAME>. It fails only when p's steps cannot be read again
// (ErrChanged).
func (p *Playbook) Plan(source string, in PlanInput) (*Outline, error) {
	steps, err := p.AllSteps()
	if err != nil {
		return nil, err
	}
	r := &renderer{
		env:        Env(in.Values, nil, nil, TargetView{Name: in.Target.Name, Transport: in.Target.Transport}, nil),
		secrets:    map[string]bool{},
		capturedBy: map[string][]string{},
	}
	for _, x := range p.Params {
		if x.Type == TypeSecret {
			r.secrets[x.Name] = true
		}
	}
	var index func(steps []*Step, prefix string)
	index = func(steps []*Step, prefix string) {
		for i, s := range steps {
			idx := prefix + strconv.Itoa(i+1)
			label := "step " + idx
			if s.ID != "" {
				label = "step " + s.ID
			}
			for _, c := range s.Captures {
				if !slices.Contains(r.capturedBy[c.Name], label) {
					r.capturedBy[c.Name] = append(r.capturedBy[c.Name], label)
				}
			}
			index(s.Then, idx+".")
			index(s.Else, idx+".e")
		}
	}
	index(steps, "")
	v := outline(p, steps, source, r)
	t := in.Target
	v.Target = &t
	v.Bound = in.Values
	for i := range v.Params {
		x := &v.Params[i]
		val, ok := in.Values[x.Name]
		if !ok {
			continue
		}
		s := FormatValue(val)
		if ref, isRef := val.(secret.Ref); isRef {
			s = ref.String()
		}
		x.Value = &s
		x.From = in.From[x.Name]
		if x.From == "" {
			x.From = "default"
			if !p.Param(x.Name).HasDefault {
				x.From = "unset"
			}
		}
	}
	var walk func(steps []*OutlineStep, src []*Step)
	walk = func(steps []*OutlineStep, src []*Step) {
		for k, s := range steps {
			switch s.Kind {
			case string(KindPrompt):
				v.Prompts = append(v.Prompts, PlanPrompt{Step: s.Index, Message: s.Message, Timeout: s.Timeout, Default: s.Default, Will: s.Will})
			case string(KindExport):
				leave := r.enterLets(src[k], nil)
				v.Exports = append(v.Exports, r.export(s, src[k], in.Exports))
				leave()
			}
			walk(s.Then, src[k].Then)
			walk(s.Else, src[k].Else)
		}
	}
	walk(v.Steps, steps)
	if len(p.Warnings) > 0 || len(v.Prompts) > 0 {
		v.Notes = append(v.Notes, "the run asks the operator (the warnings, then each prompt): without a terminal it needs --yes, which continues at every prompt")
	}
	return v, nil
}

// renderer renders templates and decides conditions for Plan.
type renderer struct {
	env        map[string]any
	secrets    map[string]bool
	capturedBy map[string][]string // capture name -> "step ID" of each step capturing it
	// withItem is set while the commands of a for_each whose items are
	// known are rendered: env holds item.
	withItem bool
	// lets are the lets of the step being rendered: each name's value is
	// in env when known, else lets says what it depends on.
	lets map[string]string
}

// enterLets evaluates the lets of s as far as they can be without a
// device, as a run does when it reaches s: each known value is added to
// env, each other is what it depends on (for the templates and
// conditions that read it). It fills in the Value or Depends of out (the
// step's OutlineLet, when not nil) and returns what puts r back as it was.
func (r *renderer) enterLets(s *Step, out []OutlineLet) (leave func()) {
	if len(s.Lets) == 0 {
		return func() {}
	}
	env, lets := r.env, r.lets
	r.env, r.lets = maps.Clone(env), maps.Clone(lets)
	if r.lets == nil {
		r.lets = map[string]string{}
	}
	for i, lt := range s.Lets {
		why := r.unknown(lt.Expr, s)
		if why == "" {
			v, err := lt.Expr.Eval(r.env)
			if err != nil {
				why = "error: " + trimPos(err, lt.Expr)
			} else {
				r.env[lt.Name] = v
				if out != nil {
					val := FormatValue(v)
					out[i].Value = &val
				}
			}
		}
		if why != "" {
			r.lets[lt.Name] = why
			if out != nil {
				out[i].Depends = why
			}
		}
	}
	return func() { r.env, r.lets = env, lets }
}

// decision is whether a step runs: will is willRun, willSkip or
// willDepends, because says why when it is not willRun.
type decision struct {
	will, because string
}

// unknown describes what of e only a run can tell, "" when e can be
// evaluated now: each name read that is not a (non-secret) param or the
// target's name or transport, with where its value comes from.
func (r *renderer) unknown(e *Expr, s *Step) string {
	if e == nil || e.Program == nil {
		return "not compiled"
	}
	v := &refVisitor{lets: r.lets}
	node := e.Program.Node()
	ast.Walk(&node, v)
	var why []string
	add := func(w string) {
		if !slices.Contains(why, w) {
			why = append(why, w)
		}
	}
	for _, ref := range v.refs {
		switch ref.root {
		case "params":
			switch {
			case ref.name == "" || ref.name == "[]":
				if len(r.secrets) > 0 {
					add("params[...] (may be a secret)")
				}
			case r.secrets[ref.name]:
				add("params." + ref.name + ": a secret, never shown")
			}
		case "vars":
			if ref.name == "" || ref.name == "[]" {
				add("vars (from the steps that capture them)")
				continue
			}
			from := r.capturedBy[ref.name]
			switch len(from) {
			case 0:
				add("vars." + ref.name + " (captured by no step)")
			case 1:
				add("vars." + ref.name + " from " + from[0])
			default:
				add("vars." + ref.name + " from " + strings.Join(from, " or "))
			}
		case "steps":
			if ref.name == "" || ref.name == "[]" {
				add("steps (the device's answers)")
				continue
			}
			add("steps." + ref.name + " from step " + ref.name)
		case "target":
			if ref.name != "name" && ref.name != "transport" {
				add("target." + firstNonEmpty(ref.name, "*") + " from the device")
			}
		case "let":
			// What the let depends on, as it is said of the let itself.
			if w := r.lets[ref.name]; w != "" {
				for _, part := range strings.Split(w, "; ") {
					add(part)
				}
			}
		case "output":
			add("output of this step")
		case "item":
			if r.withItem {
				continue
			}
			if s != nil && s.ForEach != nil {
				w := "item: each of " + exprSrc(s.ForEach)
				if u := r.unknown(s.ForEach, nil); u != "" {
					w += ", " + u
				}
				add(w)
			} else {
				add("item")
			}
		}
	}
	return strings.Join(why, "; ")
}

// template renders t for step s: each ${ } whose value is known is
// filled in, each other is shown as <src: where its value comes from>.
func (r *renderer) template(t *Template, s *Step) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Lit)
			continue
		}
		b.WriteString(r.part(p.Expr, s))
	}
	return strings.TrimSpace(b.String())
}

func (r *renderer) part(e *Expr, s *Step) string {
	src := strings.TrimSpace(e.Src)
	if why := r.unknown(e, s); why != "" {
		// A single name reads best without repeating it.
		if rest, ok := strings.CutPrefix(why, src+" "); ok && !strings.Contains(why, ";") {
			why = rest
		} else if rest, ok := strings.CutPrefix(why, src+": "); ok {
			why = rest
		}
		return "<" + src + ": " + why + ">"
	}
	val, err := e.Eval(r.env)
	if err != nil {
		return "<" + src + ": error: " + trimPos(err, e) + ">"
	}
	return FormatValue(val)
}

// cond decides a condition: true, false, or not decided (why says on
// what it depends).
func (r *renderer) cond(e *Expr, s *Step) (value, decided bool, why string) {
	if why := r.unknown(e, s); why != "" {
		return false, false, why
	}
	b, err := e.Bool(r.env)
	if err != nil {
		return false, false, "error: " + trimPos(err, e)
	}
	return b, true, ""
}

// decide says whether s runs, inside a branch decided as parent.
func (r *renderer) decide(s *Step, parent *decision) *decision {
	if parent != nil && parent.will == willSkip {
		return parent
	}
	if s.When != nil {
		ok, decided, why := r.cond(s.When, s)
		switch {
		case decided && !ok:
			return &decision{willSkip, "when " + exprSrc(s.When) + " is false"}
		case !decided:
			return &decision{willDepends, "depends on " + why}
		}
	}
	if parent != nil && parent.will == willDepends {
		return parent
	}
	return &decision{will: willRun}
}

// branches decide the then and else branches of the if step s, itself
// decided as d.
func (r *renderer) branches(s *Step, d *decision) (then, els *decision) {
	if d.will == willSkip {
		return d, d
	}
	ok, decided, why := r.cond(s.If, s)
	if !decided {
		dep := &decision{willDepends, "depends on " + why}
		return dep, dep
	}
	taken, not := d, &decision{willSkip, "if " + exprSrc(s.If) + " is " + strconv.FormatBool(ok)}
	if ok {
		return taken, not
	}
	return not, taken
}

// forEach fills in the items of a for_each step whose list is known now,
// and the command each sends.
func (r *renderer) forEach(s *Step, v *OutlineStep) {
	if s.ForEach == nil || r.unknown(s.ForEach, nil) != "" {
		return
	}
	val, err := s.ForEach.Eval(r.env)
	if err != nil {
		v.Items = []string{"<error: " + trimPos(err, s.ForEach) + ">"}
		return
	}
	items, err := Items(val)
	if err != nil {
		v.Items = []string{"<error: " + err.Error() + ">"}
		return
	}
	v.Items = items
	if len(items) == 0 && v.Will != willSkip {
		v.Will, v.Because = willSkip, "for_each gives no items"
	}
	saved := r.env
	r.withItem = true
	defer func() { r.env, r.withItem = saved, false }()
	for _, it := range items {
		env := make(map[string]any, len(saved)+1)
		for k, x := range saved {
			env[k] = x
		}
		r.env = WithItem(env, it)
		v.Commands = append(v.Commands, r.template(s.Run, nil))
	}
}

// export decides an export step as engine/export.go does.
func (r *renderer) export(v *OutlineStep, s *Step, ex Exports) PlanExport {
	x := s.Export
	pe := PlanExport{Step: v.Index, Category: x.Category, File: v.Export["file"], Will: v.Will}
	scp := "scp export " + x.Category
	if pe.File != "" {
		scp += " from " + pe.File
	}
	to := v.Export["scp_to"]
	switch {
	case ex.CanPull != nil && ex.CanPull(x.Category):
		pe.Way, pe.Why = "pull", fmt.Sprintf("the %s transport pulls it into artifacts/", ex.Transport)
	case to != "" && !ex.Interactive:
		pe.Way, pe.Why = "note", fmt.Sprintf("the %s transport can neither pull it nor answer the password question of scp export: run `%s to %s` on the firewall's CLI", ex.Transport, scp, to)
	case to == "":
		pe.Way, pe.Why = "note", fmt.Sprintf("the %s transport cannot pull it and no scp destination was given (--param scp_to=USER@HOST:PATH): run `%s to USER@HOST:PATH` on the firewall", ex.Transport, scp)
	default:
		pe.Way, pe.Command = "scp", scp+" to "+to
		pe.Why = "the firewall pushes it with scp export"
		if x.ScpPassword != nil {
			pe.Why += ", answering its password question with " + r.template(x.ScpPassword, s)
		}
	}
	return pe
}

// count renders a repeat count: the literal, the value when known, else
// the expression with what it depends on.
func (r *renderer) count(v *IntValue) string {
	if r == nil || v == nil || v.Expr == nil {
		return intSrc(v)
	}
	if why := r.unknown(v.Expr, nil); why != "" {
		return "<" + strings.TrimSpace(v.Expr.Src) + ": " + why + ">"
	}
	n, err := v.Eval(r.env)
	if err != nil {
		return "<" + strings.TrimSpace(v.Expr.Src) + ": error: " + trimPos(err, v.Expr) + ">"
	}
	return strconv.Itoa(n)
}

// duration renders a wait or interval as count does a count.
func (r *renderer) duration(v *DurationValue) string {
	if r == nil || v.Expr == nil {
		return durSrc(v)
	}
	if why := r.unknown(v.Expr, nil); why != "" {
		return "<" + strings.TrimSpace(v.Expr.Src) + ": " + why + ">"
	}
	d, err := v.Eval(r.env)
	if err != nil {
		return "<" + strings.TrimSpace(v.Expr.Src) + ": error: " + trimPos(err, v.Expr) + ">"
	}
	return FormatDuration(d)
}

// ref is one name an expression reads: params.x is {params, x}; item is
// {item, ""}; a computed key leaves name empty.
type ref struct{ root, name string }

// refVisitor gathers the refs of an expression; a name of lets (the
// step's lets) is {let, NAME}.
type refVisitor struct {
	refs []ref
	lets map[string]string
}

func (v *refVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.MemberNode:
		if id, ok := x.Node.(*ast.IdentifierNode); ok {
			name := "[]" // a computed key
			if s, ok := x.Property.(*ast.StringNode); ok {
				name = s.Value
			}
			v.add(ref{id.Value, name})
		}
	case *ast.IdentifierNode:
		switch x.Value {
		case "params", "vars", "steps", "target", "output", "item":
			v.add(ref{x.Value, ""})
		default:
			if _, ok := v.lets[x.Value]; ok {
				v.add(ref{"let", x.Value})
			}
		}
	}
}

// add records r; a bare root (the identifier under a member) is dropped
// once the member is known, and the member replaces a bare root.
func (v *refVisitor) add(r ref) {
	for i, o := range v.refs {
		if o == r {
			return
		}
		if o.root == r.root && o.name == "" && r.name != "" {
			v.refs[i] = r
			return
		}
		if o.root == r.root && r.name == "" && o.name != "" {
			return
		}
	}
	v.refs = append(v.refs, r)
}
