package engine

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// The bounds of a let's value in a step record, which must stay small
// whatever the let holds (a list of maps read from a command's output).
const (
	// letItems is how many elements of a list, or entries of a map, are
	// shown; the others are counted ("…3 more").
	letItems = 8
	// letStringMax is how many bytes of one string are shown; a longer one
	// is cut at a rune and ends with "…".
	letStringMax = 100
	// letBudget is about how many bytes a value takes: once past it, the
	// elements left of each list or map open are counted, not shown.
	letBudget = 300
	// letDepth is how deep lists and maps are shown: one nested deeper is
	// "[…N]" or "{…N}", N its length.
	letDepth = 3
)

// shownLets is the record's form of a step's lets: each let's value in
// vals, in the order of lets, written by showLet.
func shownLets(lets []*playbook.Let, vals map[string]any, redact func(string) string) []LetValue {
	out := make([]LetValue, len(lets))
	for i, lt := range lets {
		out[i] = LetValue{Name: lt.Name, Value: showLet(vals[lt.Name], redact)}
	}
	return out
}

// showLet writes v as a template shows a value (playbook.FormatValue),
// a list as [a, b] and a map as {k: v} with its keys sorted, nil as nil
// and the empty string as "",
// within the bounds above. Each string, number or key is redacted as a
// value (redact, as render redacts what a template interpolates) before
// it is cut or put together with the others: a secret is hidden whatever
// it looks like, and no cut leaves part of one behind.
func showLet(v any, redact func(string) string) string {
	var b strings.Builder
	writeLet(&b, reflect.ValueOf(v), 0, redact)
	return b.String()
}

func writeLet(b *strings.Builder, v reflect.Value, depth int, redact func(string) string) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("nil")
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("nil")
			return
		}
		n := v.Len()
		if depth == letDepth && n > 0 {
			b.WriteString("[…" + strconv.Itoa(n) + "]")
			return
		}
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == letItems || b.Len() > letBudget {
				b.WriteString("…" + strconv.Itoa(n-i) + " more")
				break
			}
			writeLet(b, v.Index(i), depth+1, redact)
		}
		b.WriteByte(']')
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		n := v.Len()
		if depth == letDepth && n > 0 {
			b.WriteString("{…" + strconv.Itoa(n) + "}")
			return
		}
		type entry struct {
			k string
			v reflect.Value
		}
		entries := make([]entry, 0, n)
		for it := v.MapRange(); it.Next(); {
			entries = append(entries, entry{cutString(redact(playbook.FormatValue(it.Key().Interface()))), it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
		b.WriteByte('{')
		for i, e := range entries {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == letItems || b.Len() > letBudget {
				b.WriteString("…" + strconv.Itoa(n-i) + " more")
				break
			}
			b.WriteString(e.k)
			b.WriteString(": ")
			writeLet(b, e.v, depth+1, redact)
		}
		b.WriteByte('}')
	case reflect.String:
		if v.Len() == 0 {
			b.WriteString(`""`) // not nothing
			return
		}
		b.WriteString(cutString(redact(v.String())))
	default:
		if !v.CanInterface() {
			b.WriteString("?")
			return
		}
		b.WriteString(cutString(redact(playbook.FormatValue(v.Interface()))))
	}
}

// cutString is s cut to letStringMax bytes at a rune, with "…" after a
// cut.
func cutString(s string) string {
	if len(s) <= letStringMax {
		return s
	}
	cut := letStringMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// LetsText writes a step record's lets on one line, as summary.md and
// report.html show them: "GWS = [10.1.1.1, 10.1.1.2]; N = 3". Empty for
// none.
func LetsText(lets []LetValue) string {
	var b strings.Builder
	for i, l := range lets {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l.Name)
		b.WriteString(" = ")
		b.WriteString(l.Value)
	}
	return b.String()
}
