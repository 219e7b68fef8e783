package playbook

import (
	"github.com/expr-lang/expr/ast"
)

// stepReads is what a playbook's expressions and evidence read of the
// steps: the ids they name, or every step when one of them reads the steps
// as a whole (steps passed on, steps[x] with x not a literal, $env).
type stepReads struct {
	all bool
	ids map[string]bool
}

// ReadsStep reports whether anything in p can read steps.<id> once that
// step ran: an expression (when, until, if, capture, repeat, a template,
// a finding, a case finding) or a finding's evidence. A run keeps only
// the status of a step nothing reads (docs/run-folder.md). It is true for
// every id of a playbook not made by Load (or Parse): nothing is known
// of it.
func (p *Playbook) ReadsStep(id string) bool {
	r := p.reads
	return r == nil || r.all || r.ids[id]
}

func (r *stepReads) add(id string) {
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.ids[id] = true
}

// expr adds what the compiled expression root reads of the steps.
// A step is read as steps.ID or steps["ID"], in a case finding as
// ends.E.steps.ID; ends.E.vars, .params and .target read no step. Any
// other use of steps, of ends, or of $env reads every step.
func (r *stepReads) expr(root ast.Node) {
	if r.all || root == nil {
		return
	}
	// Pass 1: the identifiers used in one of the forms above.
	known := map[ast.Node]bool{}
	var v visitor = func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if base := stepsMap(m.Node); base != nil {
			known[base] = true
			r.add(prop.Value)
			return
		}
		if end, ok := m.Node.(*ast.MemberNode); ok && isIdent(end.Node, "ends") && isString(end.Property) {
			switch prop.Value {
			case "vars", "params", "target":
				known[end.Node] = true
			}
		}
	}
	ast.Walk(&root, v)
	// Pass 2: any other use reads everything.
	var w visitor = func(n ast.Node) {
		if (isIdent(n, "steps") || isIdent(n, "ends") || isIdent(n, "$env")) && !known[n] {
			r.all = true
		}
	}
	ast.Walk(&root, w)
}

// stepsMap returns the identifier n reads the steps map from when n is
// steps or ends.E.steps, else nil.
func stepsMap(n ast.Node) ast.Node {
	if isIdent(n, "steps") {
		return n
	}
	m, ok := n.(*ast.MemberNode)
	if !ok || !isStringValue(m.Property, "steps") {
		return nil
	}
	end, ok := m.Node.(*ast.MemberNode)
	if !ok || !isIdent(end.Node, "ends") || !isString(end.Property) {
		return nil
	}
	return end.Node
}

func isIdent(n ast.Node, name string) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == name
}

func isString(n ast.Node) bool { _, ok := n.(*ast.StringNode); return ok }

func isStringValue(n ast.Node, s string) bool {
	x, ok := n.(*ast.StringNode)
	return ok && x.Value == s
}

type visitor func(ast.Node)

func (f visitor) Visit(n *ast.Node) { f(*n) }
