package parse

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Names lists the parsers a playbook may select with `parse:`.
var Names = []string{"keyvalue", "table", "ipsec-sa", "ike-sa", "sessions", "counters",
	"resource-monitor", "fib-lookup", "pool-statistics", "clock", "system-resources",
	"security-policy-match", "packet-diag-setting", "vpn-tunnel", "vpn-gateway"}

// ErrUnknownParser is returned by Parse for a name not in Names.
var ErrUnknownParser = errors.New("unknown parser")

// ErrNotOutput is wrapped by the error a parser returns when the text is
// plainly not the output of its command (an "Unknown command:" line, say).
var ErrNotOutput = errors.New("not the command's output")

type parserFunc func(text string, data any) (map[string]any, error)

// parsers maps each name of Names to its function. Built in a function, not
// a package variable initialiser, so that there is no init cycle risk and the
// list is easy to read next to Names.
func parserFor(name string) parserFunc {
	switch name {
	case "keyvalue":
		return parseKeyValue
	case "table":
		return parseTable
	case "ipsec-sa":
		return parseIPSecSA
	case "ike-sa":
		return parseIKESA
	case "sessions":
		return parseSessions
	case "counters":
		return parseCounters
	case "resource-monitor":
		return parseResourceMonitor
	case "fib-lookup":
		return parseFIBLookup
	case "pool-statistics":
		return parsePoolStatistics
	case "clock":
		return parseClock
	case "system-resources":
		return parseSystemResources
	case "packet-diag-setting":
		return parsePacketDiagSetting
	case "security-policy-match":
		return parseSecurityPolicyMatch
	case "vpn-tunnel":
		return parseVPNTunnel
	case "vpn-gateway":
		return parseVPNGateway
	}
	return nil
}

// Parse runs the named parser over a command's output. text is the CLI text;
// data is the structured answer of the XML API transport (nested
// map[string]any / []any / string, the children of <result>; repeated
// elements are []any), or nil over SSH. When data is non-nil and the parser
// knows the XML shape, it maps the XML element names to the same field names
// as the text form, so one playbook expression works over both transports.
//
// The result holds only string, int64, float64, bool, []any and
// map[string]any values. The error wraps ErrUnknownParser or ErrNotOutput.
func Parse(name, text string, data any) (map[string]any, error) {
	f := parserFor(name)
	if f == nil {
		return nil, fmt.Errorf("parse %q: %w (known: %s)", name, ErrUnknownParser, strings.Join(Names, ", "))
	}
	// A text-only op result (show clock, resource-monitor, ...) arrives over
	// the API as the character data of <result>: read it as text.
	if s, ok := data.(string); ok {
		switch {
		case strings.TrimSpace(s) == "" && strings.TrimSpace(text) == "":
			// An empty <result/>: a structured answer with nothing in it
			// (no SA, no session), not a text one.
			data = map[string]any{}
		case strings.TrimSpace(text) == "":
			text = s
			data = nil
		default:
			data = nil
		}
	}
	if line, bad := errorLine(text); bad {
		return nil, fmt.Errorf("parse %s: %w: %q", name, ErrNotOutput, line)
	}
	out, err := f(text, data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// errorPrefixes start the lines PAN-OS prints instead of a command's output
// (scrapli's failure markers, panos-notes §4.2).
var errorPrefixes = []string{"unknown command:", "invalid syntax", "server error", "validation error:"}

// errorLine reports the first line of text that is a CLI error message.
// Text of ASCII lines is read without splitting or lowering it.
func errorLine(text string) (string, bool) {
	rest := text
	for rest != "" {
		end := 0
		for end < len(rest) && rest[end] != '\r' && rest[end] != '\n' {
			end++
		}
		l := rest[:end]
		if end < len(rest) {
			end++
			if rest[end-1] == '\r' && end < len(rest) && rest[end] == '\n' {
				end++
			}
		}
		rest = rest[end:]
		t := l
		for t != "" && (t[0] == ' ' || t[0] == '\t' || t[0] == '\v' || t[0] == '\f') {
			t = t[1:]
		}
		for i := 0; i < len(t); i++ {
			if t[i] >= 0x80 {
				return errorLineOf(text) // a rune ToLower or TrimSpace may read otherwise
			}
		}
		for _, p := range errorPrefixes {
			if len(t) >= len(p) && strings.EqualFold(t[:len(p)], p) {
				return errorLineOf(text)
			}
		}
	}
	return "", false
}

// errorLineOf is errorLine for any text: each line lowered, then matched.
func errorLineOf(text string) (string, bool) {
	for _, l := range lines(text) {
		t := strings.ToLower(strings.TrimSpace(l))
		for _, p := range errorPrefixes {
			if strings.HasPrefix(t, p) {
				l = strings.TrimSpace(l)
				if len(l) > 120 {
					l = l[:120]
				}
				return l, true
			}
		}
	}
	return "", false
}

// lines splits text into lines without their line endings.
func lines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// snake turns a label into a field name: lower case, every run of other
// characters than letters and digits a single '_', none at either end.
// "en/decap context" → "en_decap_context", "SPI(in)" → "spi_in".
func snake(label string) string {
	if isSnake(label) {
		return label
	}
	// ASCII byte by byte, in a buffer on the stack: the one allocation is
	// the string. Any other byte goes the rune way (ToLower of a rune may
	// give an ASCII letter: the Kelvin sign is 'k').
	var buf [64]byte
	b := buf[:0]
	sep := false
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 0x80:
			return snakeOf(label)
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
		default:
			sep = true
			continue
		}
		if sep && len(b) > 0 {
			b = append(b, '_')
		}
		sep = false
		b = append(b, c)
	}
	return string(b)
}

// snakeOf is snake(label) built rune by rune, for any label.
func snakeOf(label string) string {
	var b strings.Builder
	b.Grow(len(label))
	sep := false
	for _, r := range strings.ToLower(label) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	return b.String()
}

// isSnake reports whether snake(label) is label: lower-case ASCII
// letters and digits, each run of them one '_' apart.
func isSnake(label string) bool {
	for i := 0; i < len(label); i++ {
		switch c := label[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '_' && i > 0 && i < len(label)-1 && label[i-1] != '_':
		default:
			return false
		}
	}
	return label != ""
}

// value converts a cell or value to int64 or float64 when it is a plain
// decimal number, else returns it trimmed as a string. A number with a
// leading zero ("0012") stays a string: it is an identifier, not a count.
func value(s string) any {
	s = strings.TrimSpace(s)
	if n, ok := toInt(s); ok {
		return n
	}
	if f, ok := toFloat(s); ok {
		return f
	}
	return s
}

// toInt parses a plain decimal integer (no sign '+', no leading zero).
func toInt(s string) (int64, bool) {
	d := strings.TrimPrefix(s, "-")
	if d == "" || len(d) > 19 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// toFloat parses a plain decimal fraction like 12.5 (no exponent, no NaN).
func toFloat(s string) (float64, bool) {
	d := strings.TrimPrefix(s, "-")
	i := strings.IndexByte(d, '.')
	if i <= 0 || i == len(d)-1 || strings.Count(d, ".") != 1 {
		return 0, false
	}
	if i > 1 && d[0] == '0' {
		return 0, false
	}
	for j := 0; j < len(d); j++ {
		if j != i && (d[j] < '0' || d[j] > '9') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// number reads s as a float64 for percentages: "12", "12.5", "12%".
func number(s string) (float64, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	if n, ok := toInt(s); ok {
		return float64(n), true
	}
	return toFloat(s)
}

// isPrompt reports whether l is a CLI prompt line with or without a
// command echo: "admin@PA-1-1(active-primary)> show vpn ike-sa".
func isPrompt(l string) bool {
	t := strings.TrimSpace(l)
	if strings.HasPrefix(t, "> ") || t == ">" {
		return true
	}
	at := strings.IndexByte(t, '@')
	if at <= 0 {
		return false
	}
	// Byte by byte: '>', '#', ' ' and '\t' are never part of a longer
	// UTF-8 sequence, so this finds what IndexAny and ContainsAny find.
	end := 0
	for end < len(t) && t[end] != '>' && t[end] != '#' {
		end++
	}
	if end == len(t) || end < at {
		return false
	}
	for i := 0; i < end; i++ {
		if t[i] == ' ' || t[i] == '\t' {
			return false
		}
	}
	return end == len(t)-1 || t[end+1] == ' '
}

// indentOf is the width of the leading white space of l, a tab counting 8.
func indentOf(l string) int {
	n := 0
	for _, r := range l {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 8 - n%8
		default:
			return n
		}
	}
	return n
}

// setFirst stores v under k unless k is already set (first occurrence wins).
func setFirst(m map[string]any, k string, v any) {
	if k == "" {
		return
	}
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// --- structured (XML API) answers ---

// child returns m[key] when m is a map, else nil.
func child(v any, key string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return m[key]
}

// path walks child by child.
func path(v any, keys ...string) any {
	for _, k := range keys {
		v = child(v, k)
	}
	return v
}

// list returns v as a list of elements: a repeated element is already a
// []any, a single one is wrapped, nil is empty.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// leaf returns the string content of a leaf element ("" for anything else).
func leaf(v any) string {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

// mapRecord converts one XML record (a map of leaf elements) to fields:
// each element name snake_cased, or renamed by aliases (keyed by the XML
// name); nested elements are flattened with their parent's name as prefix.
// force lists field names whose values stay strings (SPIs, ids).
func mapRecord(rec any, aliases map[string]string, force map[string]bool) map[string]any {
	out := map[string]any{}
	flatten("", rec, aliases, out)
	for k, v := range out {
		if s, ok := v.(string); ok && !force[k] {
			out[k] = value(s)
		}
	}
	return out
}

func flatten(prefix string, v any, aliases map[string]string, out map[string]any) {
	switch x := v.(type) {
	case string:
		if prefix != "" {
			setFirst(out, prefix, strings.TrimSpace(x))
		}
	case []any:
		if len(x) > 0 {
			flatten(prefix, x[0], aliases, out)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			full := k
			if prefix != "" {
				full = prefix + "-" + k
			}
			name := snake(full)
			if a, ok := aliases[full]; ok {
				name = a
			}
			flatten(name, x[k], aliases, out)
		}
	}
}
