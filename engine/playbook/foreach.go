package playbook

// This file holds for_each: a run step that runs its command once per item
// of a list. The loader checks it here; the engine evaluates the list with
// Items and runs each item with WithItem.

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// MaxItems bounds the items of one for_each step: a list longer than this
// (after duplicates are dropped) fails the step, naming it, rather than
// flooding the device with commands.
const MaxItems = 64

// ItemView is what expressions see of one item of a for_each step:
// steps.<id>.items[k]. Text, Data, Fields, OK, Status and Error are those
// of the item's last run; samples, delta and rate accept it as they accept
// a step.
type ItemView struct {
	Item   string         `expr:"item"`
	OK     bool           `expr:"ok"`
	Status string         `expr:"status"` // ok, failed, timeout, interrupted
	Error  string         `expr:"error"`
	Text   string         `expr:"text"`
	Data   any            `expr:"data"`
	Fields map[string]any `expr:"fields"`
	Runs   []RunView      `expr:"runs"`
}

// WithItem adds the current item of a for_each step to env (built with
// Env): the templates and expressions of such a step see it as `item`.
func WithItem(env map[string]any, item string) map[string]any {
	env["item"] = item
	return env
}

// Items turns the value of a for_each expression into its items, in order:
// a list (or array) of strings and numbers, each written as a template
// writes it (207, not 207.0). nil (a field the parser did not find, a step
// that did not run) gives no items. A duplicate is dropped, keeping the
// first. It fails on anything else, on an empty string and beyond MaxItems.
func Items(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("want a list, got %s", typeName(v))
	}
	var out []string
	for k := range rv.Len() {
		x := rv.Index(k).Interface()
		var s string
		switch x.(type) {
		case string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
			s = FormatValue(x)
		default:
			return nil, fmt.Errorf("item %d is %s, want a string or a number", k+1, typeName(x))
		}
		if s == "" {
			return nil, fmt.Errorf("item %d is an empty string", k+1)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxItems {
		return nil, fmt.Errorf("%d items, more than the %d a step may run for", len(out), MaxItems)
	}
	return out, nil
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

// itemRefRe finds `item` used as a name (not a field such as steps.x.item).
var itemRefRe = regexp.MustCompile(`(?:^|[^.\w])item\b`)

// usesItem reports whether t interpolates item.
func usesItem(t *Template) bool {
	if t == nil {
		return false
	}
	for _, p := range t.Parts {
		if p.Expr != nil && itemRefRe.MatchString(p.Expr.Src) {
			return true
		}
	}
	return false
}

// forEach decodes the for_each of the run step s, whose other keys runStep
// has decoded: the expressions it queued from index from on (its command,
// xml, prompt answers, captures) see item, except repeat's, which is
// evaluated once for the whole step.
func (l *loader) forEach(file string, s *Step, get map[string]*yaml.Node, from int) {
	n := deref(get["for_each"])
	for _, pe := range l.pending[from:] {
		if pe.e == nil {
			continue
		}
		if r := s.Repeat; r != nil && ((r.Count != nil && pe.e == r.Count.Expr) || (r.Interval != nil && pe.e == r.Interval.Expr)) {
			continue
		}
		pe.withItem = true
	}
	if v := get["until"]; v != nil {
		l.errf(file, v, "until is not allowed with for_each (retrying each item is not defined): use repeat, or one step per item")
	}
	if v := get["undo"]; v != nil {
		l.errf(file, v, "undo is not allowed with for_each (an undo per item is ambiguous): put the command with undo in its own step")
	}
	if s.OneOf != nil {
		l.errf(file, get["run"], "run: one_of is not allowed with for_each (which form each item ran would be ambiguous): put the alternatives in a step of their own")
	}
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		l.errf(file, n, `for_each must be an expression giving a list, such as steps.sa.fields.tunnel_ids or '["a", "b"]', not %s`, describe(n))
		return
	}
	e := l.expr(file, n, "for_each", exprAny, false)
	if e == nil {
		return
	}
	s.ForEach = e
	if s.Run != nil && !usesItem(s.Run) && !usesItem(s.XML) {
		l.errf(file, get["run"], "run does not use ${item}: every item of for_each would send the same command")
	}
	l.pending = append(l.pending, &pendingExpr{check: func() {
		if e.Program == nil {
			return // its compile error is reported
		}
		if t := e.Program.Node().Type(); t != nil {
			switch t.Kind() {
			case reflect.Interface, reflect.Slice, reflect.Array:
			default:
				l.add(e.Pos, "for_each: want a list, but the expression is %s", t)
			}
		}
	}})
}
