package playbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/types"
	"go.yaml.in/yaml/v3"
)

// letNameRe is what a let name must be: an expr identifier.
var letNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envWords are the names of the expressions' environment (EnvTypes,
// CaseEnvTypes, the variables of until, capture and for_each) and
// expr's words: a let of one of these names would hide it, or not parse.
var envWords = map[string]string{
	"params": "the parameters", "vars": "the captured variables", "steps": "the steps",
	"target": "the target", "ends": "the case's ends", "output": "the output of until and capture",
	"item": "the item of for_each",
	"let":  "expr's keyword", "in": "expr's keyword", "not": "expr's keyword", "and": "expr's keyword",
	"or": "expr's keyword", "true": "expr's keyword", "false": "expr's keyword", "nil": "expr's keyword",
	"matches": "expr's keyword", "contains": "expr's keyword", "startsWith": "expr's keyword",
	"endsWith": "expr's keyword", "if": "expr's keyword", "else": "expr's keyword",
}

// functionNames are the names of Functions.
var functionNames = func() []string {
	c := conf.CreateNew()
	for _, o := range Functions() {
		o(c)
	}
	return slices.Sorted(maps.Keys(c.Functions))
}()

// letShadows says what name would hide, or "" when it hides nothing.
func letShadows(name string) string {
	if w, ok := envWords[name]; ok {
		return w
	}
	if slices.Contains(builtin.Names, name) {
		return "expr's builtin " + name + "()"
	}
	if slices.Contains(functionNames, name) {
		return "the function " + name + "()"
	}
	return ""
}

// lets decodes a finding's or a step's let: section, a mapping of names to
// expressions in the order they are evaluated. Each let's expression sees
// the lets before it (pendingExpr.lets).
// owner is "finding" or "step", for the messages.
func (l *loader) lets(file string, n *yaml.Node, owner string) []*Let {
	pairs, ok := l.mapping(file, n, "let", nil)
	if !ok {
		return nil
	}
	var out []*Let
	for _, p := range pairs {
		name := p.key
		if !letNameRe.MatchString(name) {
			l.errf(file, p.k, "let name %q must be an identifier: letters, digits and underscores, not starting with a digit", name)
			continue
		}
		if w := letShadows(name); w != "" {
			l.errf(file, p.k, "let name %q would hide %s: choose another name", name, w)
			continue
		}
		before := len(l.pending)
		e := l.expr(file, p.v, "let "+name, exprAny, false)
		if e == nil || len(l.pending) == before {
			continue
		}
		lt := &Let{Pos: l.pos(file, p.k), Name: name, Expr: e}
		pe := l.pending[len(l.pending)-1]
		pe.let, pe.lets, pe.letsOf = lt, slices.Clone(out), owner
		out = append(out, lt)
	}
	if len(pairs) == 0 {
		l.errf(file, n, "let must name at least one expression")
	}
	return out
}

// letNames are the names of lets.
func letNames(lets []*Let) []string {
	out := make([]string, len(lets))
	for i, lt := range lets {
		out[i] = lt.Name
	}
	return out
}

// withLets is the typed environment m with the lets added, each of the
// type its expression compiled to (any when it did not compile).
func withLets(m types.Map, lets []*Let) types.Map {
	if len(lets) == 0 {
		return m
	}
	m = maps.Clone(m)
	for _, lt := range lets {
		t := lt.typ
		if t == nil {
			t = types.Any
		}
		m[lt.Name] = t
	}
	return m
}

// natureType is a types.Type of a compiled expression's nature: a let's
// value keeps what the checker knows of it (the fields of a step, the
// elements of a list).
type natureType struct{ n nature.Nature }

func (t natureType) Nature() nature.Nature { return t.n }

func (t natureType) Equal(o types.Type) bool {
	if o == types.Any {
		return true
	}
	x, ok := o.(natureType)
	return ok && x.n.String() == t.n.String()
}

func (t natureType) String() string { return t.n.String() }

// Env returns env with the finding's lets added: each evaluated once, in
// order, against env and the lets before it. Without lets it is env
// itself. A let that fails to evaluate fails the finding as a failing
// when does: its error names the let.
func (f *Finding) Env(env map[string]any) (map[string]any, error) {
	return withLetValues(env, f.Lets)
}

// Env returns env with the step's lets added, as Finding.Env does for a
// finding's: the engine calls it once, when the run reaches the step and
// before its when, and every expression and template of the step is
// evaluated against what it returns.
func (s *Step) Env(env map[string]any) (map[string]any, error) {
	return withLetValues(env, s.Lets)
}

// withLetValues is env with lets added, each evaluated against env and the
// lets before it; env itself when there are none.
func withLetValues(env map[string]any, lets []*Let) (map[string]any, error) {
	if len(lets) == 0 {
		return env, nil
	}
	out := make(map[string]any, len(env)+len(lets))
	maps.Copy(out, env)
	for _, lt := range lets {
		v, err := lt.Expr.Eval(out)
		if err != nil {
			return nil, fmt.Errorf("let %s: %w", lt.Name, err)
		}
		out[lt.Name] = v
	}
	return out, nil
}

// readsName reports whether the expression src uses name as a name (not
// as a field, x.name, nor as part of a longer word). It errs on the side
// of yes: a name inside a string literal counts.
func readsName(src, name string) bool {
	for i := 0; ; {
		j := strings.Index(src[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		before := j == 0 || !(identByte(src[j-1]) || src[j-1] == '.')
		after := end == len(src) || !identByte(src[end])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func identByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
