package playbook

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one mistake in a playbook, at a source position.
type Error struct {
	Pos
	Msg string
	// Source is the text of the source line at Pos, for the snippet; empty
	// when unknown.
	Source string
}

// Error formats e as "file:line:col: message", followed by the source line
// and a caret under the column when the line is known.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Header())
	if e.Source != "" && e.Col > 0 {
		line := strings.ReplaceAll(e.Source, "\t", " ")
		b.WriteString("\n    ")
		b.WriteString(line)
		b.WriteString("\n    ")
		// Col counts characters, not bytes.
		n := min(e.Col-1, len([]rune(line)))
		b.WriteString(strings.Repeat(" ", n))
		b.WriteString("^")
	}
	return b.String()
}

// Header is the first line of the error: "file:line:col: message".
func (e *Error) Header() string {
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// String formats p as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	s := p.File
	if s == "" {
		s = "<input>"
	}
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Col > 0 {
			s += fmt.Sprintf(":%d", p.Col)
		}
	}
	return s
}

// ErrorList is every mistake found in a playbook, sorted by position. It is
// returned as an error only when it is not empty.
type ErrorList []*Error

// Error prints each error on its own lines, in order.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives the individual errors, so errors.As finds an *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Sort orders the list by file, line, column, then message, and drops exact
// duplicates.
func (l *ErrorList) Sort() {
	slices.SortStableFunc(*l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	*l = slices.CompactFunc(*l, func(a, b *Error) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
}

// Err returns l as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
