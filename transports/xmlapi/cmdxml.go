package xmlapi

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// valueKeywords is the one table that says which CLI keywords take a value
// when a playbook writes the value without quotes. Each rule names a command
// prefix (the keywords already opened, in order) and the keywords that, under
// that prefix, are followed by a value rather than by a nested keyword.
//
// PAN-OS op XML puts a value as the text of the element named by the keyword
// before it (`tunnel sap-sap` -> `<tunnel>sap-sap</tunnel>`); a keyword that
// takes no value opens an element the following words nest in. The CLI
// itself knows which is which from its schema; this table encodes that
// knowledge for the commands the built-in playbooks use. Add a rule here when
// a new command needs one, and list it in docs/xmlapi.md.
var valueKeywords = []valueRule{
	{"show vpn ipsec-sa", []string{"tunnel"}},
	{"show vpn ike-sa", []string{"gateway"}},
	{"show vpn flow", []string{"tunnel-id", "name"}},
	{"show vpn gateway", []string{"name"}},
	{"show vpn tunnel", []string{"name"}},
	{"show running tunnel flow", []string{"tunnel-id"}},
	{"test vpn ike-sa", []string{"gateway"}},
	{"test vpn ipsec-sa", []string{"tunnel"}},
	{"test routing fib-lookup", []string{"virtual-router", "ip"}},
	{"test security-policy-match", []string{"from", "to", "source", "destination", "destination-port", "protocol", "application"}},
	{"show session all filter", []string{"source", "destination", "source-port", "destination-port", "protocol", "application", "from", "to", "rule", "state", "type", "count"}},
	{"show session", []string{"id"}},
	{"show counter global filter", []string{"delta", "packet-filter", "severity", "category", "aspect"}},
	{"show running resource-monitor", []string{"last"}},
	{"show jobs", []string{"id"}},
	{"ping", []string{"host", "source", "count", "size", "interval"}},
	{"debug dataplane packet-diag set filter match", []string{"source", "destination", "source-port", "destination-port", "protocol", "ingress-interface", "non-ip"}},
	{"debug dataplane packet-diag set capture stage", []string{"file", "byte-count", "packet-count"}},
	{"view-pcap", []string{"debug-pcap", "filter-pcap", "mgmt-pcap", "no-dns-lookup", "no-port-lookup"}},
}

type valueRule struct {
	prefix string
	keys   []string
}

// takesValue reports whether kw, opened under the keyword path, takes a value.
func takesValue(path []string, kw string) bool {
	p := strings.Join(path, " ")
	for _, r := range valueKeywords {
		if p != r.prefix && !strings.HasPrefix(p, r.prefix+" ") {
			continue
		}
		for _, k := range r.keys {
			if k == kw {
				return true
			}
		}
	}
	return false
}

// ErrCmdSyntax is wrapped by CmdXML errors: the text cannot become op XML.
var ErrCmdSyntax = errors.New("cannot convert command to XML")

type token struct {
	text   string
	quoted bool
}

// tokenize splits cli on white space; a double-quoted word is one value
// token and may contain spaces.
func tokenize(cli string) ([]token, error) {
	var toks []token
	s := cli
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return toks, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quote", ErrCmdSyntax)
			}
			toks = append(toks, token{text: s[1 : 1+end], quoted: true})
			s = s[end+2:]
			if s != "" && !unicode.IsSpace(rune(s[0])) {
				return nil, fmt.Errorf("%w: closing quote must end a word", ErrCmdSyntax)
			}
			continue
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		w := s[:end]
		if strings.ContainsRune(w, '"') {
			return nil, fmt.Errorf("%w: a quote inside the word %q", ErrCmdSyntax, w)
		}
		toks = append(toks, token{text: w})
		s = s[end:]
	}
}

// isName reports whether w can be an XML element name in an op command:
// a letter or underscore, then letters, digits, '-', '_' or '.'.
func isName(w string) bool {
	if w == "" || len(w) > 128 || strings.HasPrefix(strings.ToLower(w), "xml") {
		return false
	}
	for i, r := range w {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'):
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// CmdXML converts a PAN-OS CLI op command to the XML the API's type=op
// expects. The rules (docs/xmlapi.md has them with examples):
//
//  1. Words are split on white space; "double quoted" text is one value and
//     may contain spaces. Values are XML-escaped.
//  2. A keyword followed by a quoted value becomes <kw>value</kw>.
//  3. A keyword followed by a word that cannot be an element name (a number,
//     an IP address, a path such as ethernet1/1) takes that word as value.
//  4. A keyword the value table (valueKeywords) lists for its command prefix
//     takes the next word as value.
//  5. The first word is the root element and never takes a value.
//  6. After a value, the next keyword is a sibling (pan-python's cmd_xml);
//     any other keyword opens an element the rest nests in; a last keyword
//     is an empty element <kw></kw>.
//
// A value with nothing before it, a pipe (`| match`) and unbalanced quotes
// are errors wrapping ErrCmdSyntax.
func CmdXML(cli string) (string, error) {
	toks, err := tokenize(cli)
	if err != nil {
		return "", err
	}
	if len(toks) == 0 {
		return "", fmt.Errorf("%w: empty command", ErrCmdSyntax)
	}
	var b strings.Builder
	var open []string // keywords opened and not yet closed
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.quoted {
			return "", fmt.Errorf("%w: value %q has no keyword before it", ErrCmdSyntax, t.text)
		}
		if t.text == "|" || strings.HasPrefix(t.text, "|") {
			return "", fmt.Errorf("%w: pipes (| match, | except) exist only at the CLI", ErrCmdSyntax)
		}
		if !isName(t.text) {
			return "", fmt.Errorf("%w: %q is not a keyword and follows no keyword that takes a value", ErrCmdSyntax, t.text)
		}
		kw := t.text
		if i+1 < len(toks) && len(open) > 0 { // the first word is the root: it takes no value
			next := toks[i+1]
			isValue := next.quoted || !isName(next.text) || takesValue(open, kw)
			if isValue && (next.quoted || !strings.HasPrefix(next.text, "|")) {
				b.WriteString("<" + kw + ">")
				escape(&b, next.text)
				b.WriteString("</" + kw + ">")
				i++
				continue
			}
		}
		b.WriteString("<" + kw + ">")
		open = append(open, kw)
	}
	for i := len(open) - 1; i >= 0; i-- {
		b.WriteString("</" + open[i] + ">")
	}
	return b.String(), nil
}

// escape writes s with the five XML special characters escaped and control
// characters other than tab, newline and carriage return dropped (XML 1.0
// cannot carry them).
func escape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\t', '\n', '\r':
			b.WriteRune(r)
		default:
			if r < 0x20 || r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
				continue
			}
			b.WriteRune(r)
		}
	}
}
