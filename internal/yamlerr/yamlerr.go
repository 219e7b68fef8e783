package yamlerr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Problem is one reason a text is not a single YAML document, at a place
// of it. Line and Col are 1-based.
type Problem struct {
	Line, Col int
	Msg       string
}

// Decode reads src, which must hold at most one YAML document, into its
// document node. It returns nil and no problem when src holds no document
// at all (empty, or only comments): the caller says what it expected.
func Decode(src []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Syntax(src, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, Syntax(src, err)
	}
	line := next.Line
	if l := docStart(src, doc.Line); l > 0 {
		line = l
	}
	return nil, []Problem{{Line: line, Col: 1, Msg: "a second YAML document starts here (a stray ---?): the file must hold one document"}}
}

// docStart is the line of the first "---" after line from, or 0.
func docStart(src []byte, from int) int {
	for i, l := range lines(src) {
		if i+1 > from && (l == "---" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "---\t")) {
			return i + 1
		}
	}
	return 0
}

func lines(src []byte) []string {
	return strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
}

var lineRe = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the problems yaml's parser (not its scanner) reports.
// yaml gives their line counted from zero, so it reads one line early.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// Syntax explains err, a syntax error yaml returned for src, as problems
// at the most precise place that can be found.
func Syntax(src []byte, err error) []Problem {
	if p := badChar(src); p != nil {
		return []Problem{*p}
	}
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	ls := lines(src)
	var out []Problem
	for _, m := range msgs {
		line, given := 1, false
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			if sm[1] != "" {
				line, _ = strconv.Atoi(sm[1])
				given = true
			}
			m = sm[2]
		}
		if given && parserProblems[m] {
			line++
		}
		// yaml's line is where the broken construct started, or the line
		// above a tab; the first prefix of the text that fails the same
		// way ends at the line that breaks it.
		if k := firstFailing(src, err.Error()); k > 0 {
			line = k
		}
		out = append(out, explain(ls, line, m))
	}
	return out
}

// maxRefine bounds the work firstFailing does (bytes parsed in all).
const maxRefine = 64 << 20

// firstFailing is the number of lines of the shortest prefix of src that
// yaml refuses with the message msg (the whole error, its line included),
// or 0 when that would take too long to find.
func firstFailing(src []byte, msg string) int {
	n := bytes.Count(src, []byte("\n")) + 1
	if len(src)*n/2 > maxRefine {
		return 0
	}
	end := 0
	for k := 1; k <= n; k++ {
		i := bytes.IndexByte(src[end:], '\n')
		if i < 0 {
			end = len(src)
		} else {
			end += i + 1
		}
		var doc yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(src[:end]))
		for {
			err := dec.Decode(&doc)
			if err == nil {
				continue
			}
			if err.Error() == msg {
				return k
			}
			break
		}
	}
	return 0
}

// explain finds the column of problem m reported at line (1-based) and
// puts it in words.
func explain(ls []string, line int, m string) Problem {
	at := func(l int) string {
		if l >= 1 && l <= len(ls) {
			return ls[l-1]
		}
		return ""
	}
	// A problem found at the end of the text is put on its last line.
	last := len(ls)
	for last > 1 && strings.TrimSpace(ls[last-1]) == "" {
		last--
	}
	line = max(1, min(line, last))
	p := Problem{Line: line, Col: firstCol(at(line)), Msg: "yaml: " + m}
	switch m {
	case "found a tab character that violates indentation", "found character that cannot start any token":
		// yaml blames a tab on the line above it at times.
		for _, l := range []int{line, line + 1} {
			if c := indentTab(at(l)); c > 0 {
				p.Line, p.Col = l, c
				p.Msg = "a tab in the indentation: YAML indents with spaces only"
				return p
			}
		}
		if m == "found character that cannot start any token" {
			if c, r := badStart(at(line)); c > 0 {
				p.Col = c
				p.Msg = fmt.Sprintf("a plain value cannot start with %q: quote the value", r)
			}
		}
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected node content":
		open := '['
		if strings.HasSuffix(m, "'}'") {
			open = '{'
		}
		// The bracket is on the line reported or, when yaml counted
		// from the problem rather than the bracket, above it.
		for l := min(line, len(ls)); l >= 1 && l > line-50; l-- {
			c, r := unclosed(at(l), m == "did not find expected node content", open)
			if c > 0 {
				p.Line, p.Col = l, c
				p.Msg = fmt.Sprintf("this %c is not closed: want %c at the end, items separated by commas", r, closer[r])
				return p
			}
		}
	case "mapping values are not allowed in this context":
		p.Msg = "a key: value where none can start (wrong indentation, or a value holding \": \" that needs quotes)"
	case "did not find expected key":
		p.Msg = "this line breaks the mapping above it: it is neither a key: value of it nor indented under one (wrong indentation?)"
	case "did not find expected '-' indicator":
		p.Msg = "this line breaks the list above it: it is neither a - item of it nor indented under one (wrong indentation?)"
	}
	return p
}

// firstCol is the column of the first non-blank character of s, or 1.
func firstCol(s string) int {
	for i, r := range []rune(s) {
		if r != ' ' && r != '\t' {
			return i + 1
		}
	}
	return 1
}

// indentTab is the column of a tab in the leading blanks of s (a line with
// content after them), or 0.
func indentTab(s string) int {
	for i, r := range []rune(s) {
		switch r {
		case ' ':
			continue
		case '\t':
			if strings.TrimSpace(s) != "" {
				return i + 1
			}
		}
		return 0
	}
	return 0
}

// badStart finds a character that cannot start a plain value in s: @ or `
// outside quotes and comments, after the indentation, ": " or "- ".
func badStart(s string) (int, rune) {
	rs := []rune(s)
	var q rune
	for i, r := range rs {
		switch {
		case q != 0:
			if r == q {
				q = 0
			}
		case r == '"' || r == '\'':
			q = r
		case r == '#' && (i == 0 || rs[i-1] == ' '):
			return 0, 0
		case r == '@' || r == '`' || r == '\t':
			if i == 0 || rs[i-1] == ' ' || rs[i-1] == '\t' || rs[i-1] == '[' || rs[i-1] == '{' || rs[i-1] == ',' {
				return i + 1, r
			}
		}
	}
	return 0, 0
}

var closer = map[rune]rune{'[': ']', '{': '}'}

// unclosed is the column of the first open bracket in s (open, or either
// kind when any) not closed on the same line, outside quotes and comments,
// and the bracket; 0 when there is none.
func unclosed(s string, either bool, open rune) (int, rune) {
	rs := []rune(s)
	type at struct {
		col int
		r   rune
	}
	var stack []at
	var q rune
scan:
	for i, r := range rs {
		switch {
		case q != 0:
			if r == q {
				q = 0
			}
		case r == '"' || r == '\'':
			q = r
		case r == '#' && (i == 0 || rs[i-1] == ' '):
			break scan
		case r == '[' || r == '{':
			stack = append(stack, at{i + 1, r})
		case (r == ']' || r == '}') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	for _, b := range stack {
		if either || b.r == open {
			return b.col, b.r
		}
	}
	return 0, 0
}

// badChar finds the first byte sequence YAML refuses in any document:
// invalid UTF-8, or a character outside YAML's printable set (a control
// character). A UTF-16 text (its byte order mark) is left to yaml.
func badChar(src []byte) *Problem {
	if bytes.HasPrefix(src, []byte{0xFE, 0xFF}) || bytes.HasPrefix(src, []byte{0xFF, 0xFE}) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return &Problem{Line: line, Col: col, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): the file must be UTF-8 text", src[i])}
		}
		if !printable(r) {
			esc := fmt.Sprintf(`\x%02x`, r)
			if r > 0xff {
				esc = fmt.Sprintf(`\u%04x`, r)
			}
			return &Problem{Line: line, Col: col, Msg: fmt.Sprintf("control character %U is not allowed: write it as an escape in a double-quoted string, such as \"%s\"", r, esc)}
		}
		i += n
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return nil
}

// printable is YAML's set of characters allowed in a stream.
func printable(r rune) bool {
	switch {
	case r == 0x09, r == 0x0A, r == 0x0D:
	case r >= 0x20 && r <= 0x7E:
	case r == 0x85:
	case r >= 0xA0 && r <= 0xD7FF:
	case r >= 0xE000 && r <= 0xFFFD:
	case r >= 0x10000 && r <= 0x10FFFF:
	default:
		return false
	}
	return true
}

// Printable is the line s as a source snippet shows it: each invalid byte
// and control character (but a tab) becomes U+FFFD, so a caret stays under
// its column and nothing raw reaches a terminal.
func Printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
