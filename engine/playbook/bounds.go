package playbook

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// checkBounds evaluates, with the bound values, every repeat count, repeat
// interval and wait whose expression reads nothing but (non-secret)
// params, and returns one *ParamError for each the step would refuse: a
// bad value is refused before anything is sent, not at its step after
// debug was switched on. A step whose when (or enclosing if) reads params
// only and is false for these values is passed over.
func (p *Playbook) checkBounds(values map[string]any) []error {
	secrets := map[string]bool{}
	for _, x := range p.Params {
		if x.Type == TypeSecret {
			secrets[x.Name] = true
		}
	}
	base := Env(values, nil, nil, TargetView{}, nil)
	// env is that of the step being checked: base with the values of its
	// lets that read params only; lets says of each of its lets whether
	// it is known now and the params it reads.
	env := base
	var lets map[string]letParams
	enter := func(s *Step) {
		env, lets = base, nil
		if len(s.Lets) == 0 {
			return
		}
		env, lets = maps.Clone(base), map[string]letParams{}
		for _, lt := range s.Lets {
			var lp letParams
			if lt.Expr != nil && lt.Expr.Program != nil {
				lp.names, lp.ok = paramsOnly(lt.Expr, secrets, lets)
			}
			if lp.ok {
				v, err := lt.Expr.Eval(env)
				if lp.ok = err == nil; lp.ok {
					env[lt.Name] = v
				}
			}
			lets[lt.Name] = lp
		}
	}
	var errs []error
	// known reports whether e can be evaluated now, and the params it reads.
	known := func(e *Expr) ([]string, bool) {
		if e == nil || e.Program == nil {
			return nil, false
		}
		return paramsOnly(e, secrets, lets)
	}
	holds := func(e *Expr) (value, decided bool) {
		if _, ok := known(e); !ok {
			return true, false
		}
		b, err := e.Bool(env)
		return b, err == nil
	}
	refuse := func(e *Expr, names []string, msg string) {
		msg = fmt.Sprintf("%s: %s (from ${%s})", e.Pos, msg, strings.TrimSpace(e.Src))
		if len(names) == 0 {
			errs = append(errs, fmt.Errorf("%w: %s", ErrParams, msg))
			return
		}
		errs = append(errs, &ParamError{Name: strings.Join(names, ", "), Msg: msg})
	}
	check := func(s *Step) {
		if r := s.Repeat; r != nil && r.Count != nil {
			if names, ok := known(r.Count.Expr); ok {
				n, err := r.Count.Eval(env)
				if err == nil {
					err = CheckCount(n)
				}
				if err != nil {
					refuse(r.Count.Expr, names, trimPos(err, r.Count.Expr))
				}
			}
		}
		for what, d := range map[string]*DurationValue{"repeat interval": intervalOf(s), "wait": s.Wait} {
			if d == nil {
				continue
			}
			if names, ok := known(d.Expr); ok {
				if _, err := d.Eval(env); err != nil {
					refuse(d.Expr, names, what+": "+trimPos(err, d.Expr))
				}
			}
		}
	}
	var walk func([]*Step)
	walk = func(steps []*Step) {
		for _, s := range steps {
			enter(s)
			if ok, decided := holds(s.When); decided && !ok {
				continue
			}
			check(s)
			if ok, decided := holds(s.If); decided && s.Kind == KindIf {
				if ok {
					walk(s.Then)
				} else {
					walk(s.Else)
				}
				continue
			}
			walk(s.Then)
			walk(s.Else)
		}
	}
	switch {
	case p.lazy == nil:
		walk(p.Steps)
	case p.stepFacts().bounds:
		// Read again from the file only when a step has a bound to check.
		if err := p.EachStep(func(s *Step) error { walk([]*Step{s}); return nil }); err != nil {
			errs = append(errs, err)
		}
	}
	walk(p.Cleanup)
	// One error per param: the first step it breaks, and how many more.
	var out []error
	first := map[string]*ParamError{}
	more := map[string]int{}
	for _, err := range errs {
		pe, ok := err.(*ParamError)
		if !ok {
			out = append(out, err)
			continue
		}
		if _, seen := first[pe.Name]; seen {
			more[pe.Name]++
			continue
		}
		first[pe.Name] = pe
		out = append(out, pe)
	}
	for name, n := range more {
		first[name].Msg += fmt.Sprintf(", and so %s %d more %s", plural(n, "does", "do"), n, plural(n, "step", "steps"))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func intervalOf(s *Step) *DurationValue {
	if s.Repeat == nil {
		return nil
	}
	return s.Repeat.Interval
}

// trimPos is err's message without the "pos: src: " Eval puts first.
func trimPos(err error, e *Expr) string {
	return strings.TrimPrefix(err.Error(), fmt.Sprintf("%s: %s: ", e.Pos, e.Src))
}

// letParams is what checkBounds knows of a step's let: whether its value
// is known before the run (it reads params only and evaluated), and the
// params it reads.
type letParams struct {
	names []string
	ok    bool
}

// paramsOnly reports whether e reads no name but params (no vars, steps,
// target or output), no secret param and no let of lets not known, and
// returns the params it reads (a let's included).
func paramsOnly(e *Expr, secrets map[string]bool, lets map[string]letParams) ([]string, bool) {
	v := &paramVisitor{ok: true, lets: lets}
	node := e.Program.Node()
	ast.Walk(&node, v)
	for _, n := range v.names {
		if secrets[n] {
			return nil, false
		}
	}
	if v.dynamic && len(secrets) > 0 {
		return nil, false
	}
	slices.Sort(v.names)
	return slices.Compact(v.names), v.ok
}

type paramVisitor struct {
	ok      bool
	dynamic bool // params[...] with a computed key
	names   []string
	lets    map[string]letParams
}

func (v *paramVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		switch x.Value {
		case "vars", "steps", "target", "output":
			v.ok = false
		}
		if lp, ok := v.lets[x.Value]; ok {
			v.ok = v.ok && lp.ok
			v.names = append(v.names, lp.names...)
		}
	case *ast.MemberNode:
		if id, ok := x.Node.(*ast.IdentifierNode); ok && id.Value == "params" {
			if s, ok := x.Property.(*ast.StringNode); ok {
				v.names = append(v.names, s.Value)
			} else {
				v.dynamic = true
			}
		}
	}
}
