package playbook

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"go.yaml.in/yaml/v3"
)

// exprKind is what an expression must yield.
type exprKind int

const (
	exprAny exprKind = iota
	exprBool
	exprInt
	exprDuration
)

// pendingExpr is an expression decoded but not yet compiled: the
// environment (every capture name and step id) is known only once the
// whole playbook, includes and all, has been read.
type pendingExpr struct {
	e          *Expr
	file       string
	node       *yaml.Node
	off        int // byte offset of e.Src within node.Value
	kind       exprKind
	withOutput bool
	withItem   bool // in a for_each step: item is known
	withEnds   bool // in a case finding: only ends is known
	what       string
	// check, when set, is a deferred check instead of a compilation.
	check func()
	// lets are the finding's lets the expression sees by name; let is
	// set on the expression of a let, whose type it records once compiled.
	lets []*Let
	let  *Let
	// letsOf is what lets belong to, "finding" or "step", for messages.
	letsOf string
}

// cond decodes a bare boolean expression.
func (l *loader) cond(file string, n *yaml.Node, what string, withOutput bool) *Expr {
	return l.expr(file, n, what, exprBool, withOutput)
}

// expr decodes a bare expression of the given kind.
func (l *loader) expr(file string, n *yaml.Node, what string, kind exprKind, withOutput bool) *Expr {
	if n == nil {
		return nil
	}
	n = deref(n)
	src, ok := l.scalar(file, n, what)
	if !ok {
		return nil
	}
	if strings.TrimSpace(src) == "" {
		l.errf(file, n, "%s: empty expression", what)
		return nil
	}
	if t := strings.TrimSpace(src); strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}") {
		l.errf(file, n, "%s is a bare expression: write it without ${ }", what)
		return nil
	}
	e := &Expr{Pos: l.posIn(file, n, 0), Src: src}
	l.pending = append(l.pending, &pendingExpr{e: e, file: file, node: n, kind: kind, withOutput: withOutput, what: what})
	return e
}

// template decodes a string with ${ expr } interpolations.
func (l *loader) template(file string, n *yaml.Node, what string) *Template {
	if n == nil {
		return nil
	}
	n = deref(n)
	s, ok := l.str(file, n, what)
	if !ok {
		return nil
	}
	parts, errOff, msg := splitTemplate(s)
	if msg != "" {
		if c := cutByComment(n); c != "" {
			msg += fmt.Sprintf(" (YAML took %q for a comment and cut the value there: quote the whole value to use expr's #)", c)
		}
		l.add(l.posIn(file, n, errOff), "%s: %s", what, msg)
		return nil
	}
	t := &Template{Pos: l.pos(file, n), Src: s}
	for _, p := range parts {
		if !p.isExpr {
			if p.lit == s {
				p.lit = s // the text as YAML read it, not held twice
			}
			t.Parts = append(t.Parts, Part{Lit: p.lit})
			continue
		}
		e := &Expr{Pos: l.posIn(file, n, p.off), Src: p.src}
		l.pending = append(l.pending, &pendingExpr{e: e, file: file, node: n, off: p.off, kind: exprAny, what: what})
		t.Parts = append(t.Parts, Part{Expr: e})
	}
	return t
}

// single returns the expression of s when s is exactly one ${ expr }
// (spaces around allowed).
func single(s string) (src string, off int, ok bool) {
	parts, _, msg := splitTemplate(s)
	if msg != "" {
		return "", 0, false
	}
	var found *rawPart
	for i := range parts {
		p := &parts[i]
		if p.isExpr {
			if found != nil {
				return "", 0, false
			}
			found = p
		} else if strings.TrimSpace(p.lit) != "" {
			return "", 0, false
		}
	}
	if found == nil {
		return "", 0, false
	}
	return found.src, found.off, true
}

func (l *loader) intValue(file string, n *yaml.Node, what string) *IntValue {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		i, ok := l.integer(file, n, what)
		if !ok {
			return nil
		}
		return &IntValue{Value: i}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if src, off, ok := single(n.Value); ok {
			e := &Expr{Pos: l.posIn(file, n, off), Src: src}
			l.pending = append(l.pending, &pendingExpr{e: e, file: file, node: n, off: off, kind: exprInt, what: what})
			return &IntValue{Expr: e}
		}
	}
	l.errf(file, n, "%s must be an integer or a single ${ expr }, not %s", what, describe(n))
	return nil
}

func (l *loader) durationValue(file string, n *yaml.Node, what string) *DurationValue {
	if n == nil {
		return nil
	}
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if src, off, ok := single(n.Value); ok {
			e := &Expr{Pos: l.posIn(file, n, off), Src: src}
			l.pending = append(l.pending, &pendingExpr{e: e, file: file, node: n, off: off, kind: exprDuration, what: what})
			return &DurationValue{Expr: e}
		}
	}
	d, ok := l.duration(file, n, what)
	if !ok {
		return nil
	}
	return &DurationValue{Value: d}
}

var durationType = reflect.TypeOf(time.Duration(0))

// compileAll compiles every pending expression against the environment of
// pb, now that every capture name and step id is known.
func (l *loader) compileAll(pb *Playbook) {
	captures := make([]string, 0, len(l.captures))
	for c := range l.captures {
		captures = append(captures, c)
	}
	ids := make([]string, 0, len(l.stepIDs))
	for id := range l.stepIDs {
		ids = append(ids, id)
	}
	slices.Sort(captures)
	slices.Sort(ids)
	l.envNames = map[string][]string{"vars": captures, "steps": ids}
	for _, p := range envParams(pb.Params) {
		l.envNames["params"] = append(l.envNames["params"], p.Name)
	}
	if pb.Case != nil {
		l.envNames["ends"] = pb.Case.Ends
	}
	// Made when there is an expression to compile: its map of the steps
	// is as long as the playbook.
	l.mkEnv = func() *compileEnv { return newCompileEnv(pb.Params, captures, ids, pb.Case) }
	reads := &stepReads{}
	l.compilePending(reads)
	for _, f := range pb.Findings {
		for _, ev := range f.Evidence {
			reads.add(ev.Step)
		}
	}
	if pb.Case != nil {
		for _, f := range pb.Case.Findings {
			for _, ev := range f.Evidence {
				reads.add(ev.Step)
			}
		}
	}
	pb.reads = reads
}

// envParams are the params the expressions see: those with an unknown type
// are left out, their type error is reported already.
func envParams(all []*Param) []*Param {
	var params []*Param
	for _, p := range all {
		if p.Type != "" {
			params = append(params, p)
		}
	}
	return params
}

// compileEnv is what expressions compile against: the environment of
// params, vars, steps and target, with output and item or not, and that
// of a case finding.
type compileEnv struct {
	// maps and envs are indexed [withOutput][withItem].
	maps    [2][2]types.Map
	envs    [2][2]expr.Option
	endsMap types.Map
	endsEnv expr.Option
	fns     []expr.Option
}

func newCompileEnv(params []*Param, captures, ids []string, c *Case) *compileEnv {
	ce := &compileEnv{fns: Functions()}
	// The four share one map of the steps: a playbook of many steps
	// holds it once while it compiles.
	base := EnvTypes(envParams(params), captures, ids, false)
	for o := range 2 {
		for i := range 2 {
			m := maps.Clone(base)
			if o == 1 {
				m["output"] = structOf(RunView{})
			}
			if i == 1 {
				m["item"] = types.String
			}
			ce.maps[o][i], ce.envs[o][i] = m, expr.Env(m)
		}
	}
	if c != nil {
		ce.endsMap = CaseEnvTypes(c.Ends, base)
		ce.endsEnv = expr.Env(ce.endsMap)
	}
	return ce
}

// compilePending compiles (or checks) every pending expression against
// l.env, in order, adding what each reads of the steps to reads, and
// empties the list.
func (l *loader) compilePending(reads *stepReads) {
	for _, pe := range l.pending {
		if pe.check != nil {
			pe.check()
			continue
		}
		if l.env == nil {
			l.env = l.mkEnv()
		}
		ce := l.env
		env := ce.envs[b2i(pe.withOutput)][b2i(pe.withItem)]
		envMap := ce.maps[b2i(pe.withOutput)][b2i(pe.withItem)]
		if pe.withEnds {
			if ce.endsEnv == nil {
				continue // the case's error (no ends) is reported already
			}
			env, envMap = ce.endsEnv, ce.endsMap
		}
		if len(pe.lets) > 0 {
			env = expr.Env(withLets(envMap, pe.lets))
		}
		opts := append([]expr.Option{env}, ce.fns...)
		switch pe.kind {
		case exprBool:
			opts = append(opts, expr.AsBool())
		case exprInt:
			opts = append(opts, expr.AsInt())
		}
		prog, err := expr.Compile(pe.e.Src, opts...)
		if err != nil {
			l.exprError(pe, err)
			continue
		}
		if pe.kind == exprDuration {
			if t := prog.Node().Type(); t != nil && t.Kind() != reflect.Interface &&
				t != durationType && t.Kind() != reflect.String {
				l.add(pe.e.Pos, "%s: want a duration, but the expression is %s", pe.what, t)
				continue
			}
		}
		pe.e.Program = prog
		if pe.let != nil {
			if n := prog.Node().Nature(); n != nil {
				pe.let.typ = natureType{*n}
			}
		}
		if reads != nil {
			reads.expr(prog.Node())
		}
	}
	l.pending = nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// exprError reports a compile error at the exact character it names.
func (l *loader) exprError(pe *pendingExpr, err error) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		l.add(pe.e.Pos, "%s: %v", pe.what, err)
		return
	}
	rel := runeOffset(pe.e.Src, fe.From)
	off := pe.off + rel
	msg := fe.Message
	switch {
	case !pe.withOutput && msg == "unknown name output":
		msg += " (output is only available in until and capture expressions)"
	case !pe.withItem && msg == "unknown name item":
		msg += " (item is only available in the command, xml, prompts and capture of a run step with for_each)"
	case strings.HasPrefix(msg, "unknown field "):
		name := strings.TrimPrefix(msg, "unknown field ")
		if m := memberBaseRe.FindStringSubmatch(pe.e.Src[:rel]); m != nil {
			msg = fmt.Sprintf("unknown %s %s", memberWhat[m[1]], name)
			if sg := suggest(name, l.envNames[m[1]]); sg != "" {
				msg += fmt.Sprintf(" (did you mean %s.%s?)", m[1], sg)
			}
		}
	case strings.HasPrefix(msg, "unknown name ") && suggest(strings.TrimPrefix(msg, "unknown name "), letNames(pe.lets)) != "":
		msg += fmt.Sprintf(" (did you mean %s, a let of the %s?)", suggest(strings.TrimPrefix(msg, "unknown name "), letNames(pe.lets)), pe.letsOf)
	case pe.withEnds && strings.HasPrefix(msg, "unknown name "):
		msg += " (a case finding sees only ends: ends.NAME.steps, .vars, .params, .target of each end)"
	case strings.HasPrefix(msg, "unknown name "):
		name := strings.TrimPrefix(msg, "unknown name ")
		if sg := suggest(name, []string{"params", "vars", "steps", "target"}); sg != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", sg)
		}
	}
	if c := cutByComment(pe.node); c != "" {
		msg += fmt.Sprintf(" (YAML took %q for a comment and cut the value there: quote the whole value to use expr's #)", c)
	}
	l.add(l.posIn(pe.file, pe.node, off), "%s: %s", pe.what, msg)
}

// cutByComment returns the line comment that ended the plain (unquoted)
// scalar n, if any: `when: all(steps.x, # > 0)` reaches expr as
// `all(steps.x,` because YAML reads ` # > 0)` as a comment.
func cutByComment(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Style != 0 {
		return ""
	}
	return strings.TrimSpace(n.LineComment)
}

// memberBaseRe finds the environment map an unknown field belongs to.
// In a case finding the map may follow an end: ends.a.steps.
var memberBaseRe = regexp.MustCompile(`(?:^|[^\w.])(?:ends\s*\.\s*\w+\s*\.\s*)?(params|vars|steps|ends)\s*\.\s*$`)

var memberWhat = map[string]string{"params": "parameter", "vars": "variable", "steps": "step", "ends": "end"}

// runeOffset converts a rune index into a byte offset of s.
func runeOffset(s string, runes int) int {
	if runes <= 0 {
		return 0
	}
	i := 0
	for b := range s {
		if i == runes {
			return b
		}
		i++
	}
	return len(s)
}

// posIn is the source position of byte off within the scalar n's value. It
// is exact for plain and quoted single-line scalars and for literal blocks;
// best effort for folded and multi-line flow scalars.
func (l *loader) posIn(file string, n *yaml.Node, off int) Pos {
	v := n.Value
	off = min(max(off, 0), len(v))
	prefix := v[:off]
	p := Pos{File: file, Line: n.Line, Col: n.Column}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		nl := strings.Count(prefix, "\n")
		last := prefix[strings.LastIndexByte(prefix, '\n')+1:]
		p.Line = n.Line + 1 + nl
		indent := 0
		if src, ok := l.line(file, p.Line); ok {
			indent = len(src) - len(strings.TrimLeft(src, " "))
		}
		p.Col = indent + 1 + utf8.RuneCountInString(last)
		return p
	}
	col := n.Column + utf8.RuneCountInString(prefix)
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		col++ // the opening quote
		col += strings.Count(prefix, `"`) + strings.Count(prefix, `\`)
	case n.Style&yaml.SingleQuotedStyle != 0:
		col++
		col += strings.Count(prefix, `'`)
	}
	p.Col = col
	return p
}

// rawPart is a piece of a template before compilation.
type rawPart struct {
	isExpr bool
	lit    string
	src    string
	off    int // byte offset of src in the template
}

// splitTemplate cuts s into literal text and ${ expr } pieces. "$${" is a
// literal "${". On error it returns the offset and message.
func splitTemplate(s string) ([]rawPart, int, string) {
	if !strings.Contains(s, "${") { // the usual command: one literal, s itself
		if s == "" {
			return nil, 0, ""
		}
		return []rawPart{{lit: s}}, 0, ""
	}
	var parts []rawPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, rawPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := closeBrace(s, i+2)
			if end < 0 {
				return nil, i, "unterminated ${: missing }"
			}
			src := s[i+2 : end]
			if strings.TrimSpace(src) == "" {
				return nil, i, "empty ${ }"
			}
			flush()
			parts = append(parts, rawPart{isExpr: true, src: src, off: i + 2})
			i = end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return parts, 0, ""
}

// closeBrace finds the } that closes an expression starting at from,
// skipping nested braces and quoted strings. It returns -1 when there is
// none.
func closeBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
			if i >= len(s) {
				return -1
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// Eval runs the compiled expression against env (built with Env).
func (e *Expr) Eval(env map[string]any) (any, error) {
	if e == nil || e.Program == nil {
		return nil, errors.New("expression is not compiled")
	}
	v, err := expr.Run(e.Program, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", e.Pos, e.Src, err)
	}
	return v, nil
}

// Bool runs a condition and returns its value.
func (e *Expr) Bool(env map[string]any) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: %s: want a boolean, got %T", e.Pos, e.Src, v)
	}
	return b, nil
}

// Static reports whether t has no expressions: its text is Src as written
// (with "$${" already turned into "${").
func (t *Template) Static() bool {
	for _, p := range t.Parts {
		if p.Expr != nil {
			return false
		}
	}
	return true
}

// Render evaluates every ${ expr } of t against env and joins the pieces.
// Values are written naturally: integers without ".0", durations as "10s",
// nil as "".
func (t *Template) Render(env map[string]any) (string, error) {
	if len(t.Parts) == 1 && t.Parts[0].Expr == nil {
		return t.Parts[0].Lit, nil
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Lit)
			continue
		}
		v, err := p.Expr.Eval(env)
		if err != nil {
			return "", err
		}
		b.WriteString(FormatValue(v))
	}
	return b.String(), nil
}

// FormatValue writes v the way a template shows it.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Duration:
		return FormatDuration(x)
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return FormatValue(float64(x))
	case bool:
		return strconv.FormatBool(x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Eval returns the literal value, or the expression's value as an int.
func (v *IntValue) Eval(env map[string]any) (int, error) {
	if v.Expr == nil {
		return v.Value, nil
	}
	x, err := v.Expr.Eval(env)
	if err != nil {
		return 0, err
	}
	switch n := x.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	}
	return 0, fmt.Errorf("%s: %s: want an integer, got %v", v.Expr.Pos, v.Expr.Src, x)
}

// Eval returns the literal duration, or the expression's value: a
// time.Duration or a duration string. The result is always > 0.
func (v *DurationValue) Eval(env map[string]any) (time.Duration, error) {
	if v.Expr == nil {
		return v.Value, nil
	}
	x, err := v.Expr.Eval(env)
	if err != nil {
		return 0, err
	}
	var d time.Duration
	switch t := x.(type) {
	case time.Duration:
		d = t
	case string:
		if d, err = ParseDuration(t); err != nil {
			return 0, fmt.Errorf("%s: %s: %w", v.Expr.Pos, v.Expr.Src, err)
		}
	default:
		return 0, fmt.Errorf("%s: %s: want a duration, got %T", v.Expr.Pos, v.Expr.Src, x)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: %s: duration %s must be greater than zero", v.Expr.Pos, v.Expr.Src, d)
	}
	if err := checkDuration(d); err != nil {
		return 0, fmt.Errorf("%s: %s: %w", v.Expr.Pos, v.Expr.Src, err)
	}
	return d, nil
}

// Walk calls fn for every step of steps in order, descending into the then
// and else branches of if steps (a step before its branches).
func Walk(steps []*Step, fn func(*Step)) {
	for _, s := range steps {
		fn(s)
		Walk(s.Then, fn)
		Walk(s.Else, fn)
	}
}
