package xmlapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/runbook-dev/runbook/transports"
)

// ErrMalformed is wrapped by errors for a body that is not a PAN-OS
// response envelope (not XML, no <response> root, too deep, too large).
var ErrMalformed = errors.New("malformed API response")

// maxDepth bounds element nesting in a response; PAN-OS answers are a dozen
// levels deep at most.
const maxDepth = 64

// node is one element of a parsed response.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
	text     strings.Builder // character data directly inside, CDATA unwrapped
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// path follows child names; nil when one is missing.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		if n == nil {
			return nil
		}
		n = n.child(name)
	}
	return n
}

// parseTree reads one XML document into a tree of nodes, iteratively, with
// nesting bounded by maxDepth.
func parseTree(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var root *node
	var stack []*node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d elements", ErrMalformed, maxDepth)
			}
			n := &node{name: t.Name.Local, attrs: t.Copy().Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

// response is a parsed <response> envelope.
type response struct {
	status string // success, error
	code   string
	result *node // <result>, nil when absent
	root   *node
}

// parseResponse parses a PAN-OS <response> envelope.
func parseResponse(body []byte) (*response, error) {
	root, err := parseTree(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if root.name != "response" {
		return nil, fmt.Errorf("%w: root element is <%s>, want <response>", ErrMalformed, root.name)
	}
	return &response{status: root.attr("status"), code: root.attr("code"), result: root.child("result"), root: root}, nil
}

// failed applies pango's rule: status error or failed, or a code other than
// the success codes 19 and 20.
func (r *response) failed() bool {
	if r.status != "success" {
		return true
	}
	switch r.code {
	case "", "0", "19", "20":
		return false
	}
	return true
}

// message finds the error text where PAN-OS puts it: msg/line (lines joined
// with " | "), msg, result/msg/line, result/msg (pan-python and pango try
// these in this order).
func (r *response) message() string {
	for _, msg := range []*node{r.root.child("msg"), r.root.path("result", "msg")} {
		if msg == nil {
			continue
		}
		var lines []string
		for _, c := range msg.children {
			if c.name == "line" {
				if l := strings.TrimSpace(c.text.String()); l != "" {
					lines = append(lines, l)
				}
			}
		}
		if len(lines) > 0 {
			return strings.Join(lines, " | ")
		}
		if t := strings.TrimSpace(msg.text.String()); t != "" {
			return t
		}
	}
	return ""
}

// deviceError turns a failed response into a *transports.DeviceError. Codes
// 1 (unknown command) and 17 (invalid command) wrap ErrUnknownCommand.
func (r *response) deviceError(cli string) *transports.DeviceError {
	msg := r.message()
	if msg == "" {
		msg = "request failed"
		if s, ok := codeText[r.code]; ok {
			msg = s
		}
	}
	e := &transports.DeviceError{Command: cli, Code: r.code, Message: msg}
	switch {
	case notOverAPI.MatchString(msg):
		// The command exists; only this client may not send it.
		e.Err = transports.ErrNotOverAPI
	case r.code == "1" || r.code == "17":
		e.Err = transports.ErrUnknownCommand
	}
	return e
}

// notOverAPI is PAN-OS's answer to a command the API refuses to its
// clients while the CLI runs it: " debug not available to xmlapi client"
// (PaloAltoNetworks/pan-os-python issue 509). The word before it is the
// command's first word.
var notOverAPI = regexp.MustCompile(`(?i)\bnot available to xmlapi client\b`)

// codeText is the PAN-OS XML API error code table (docs "PAN-OS XML API
// Error Codes"), used when a response carries a code but no message.
var codeText = map[string]string{
	"400": "bad request", "403": "forbidden", "1": "unknown command",
	"2": "internal error", "3": "internal error", "4": "internal error", "5": "internal error",
	"6": "bad xpath", "7": "object not present", "8": "object not unique",
	"10": "reference count not zero", "11": "internal error", "12": "invalid object",
	"14": "operation not possible", "15": "operation denied", "16": "unauthorized",
	"17": "invalid command", "18": "malformed command", "22": "session timed out",
}

// ParseResponse turns a PAN-OS response body into a Result, or an error:
// a *transports.DeviceError for status="error", an error wrapping
// ErrMalformed for anything that is not a response envelope. cli names the
// command in a DeviceError.
//
// Result.Text is the text of <result> (CDATA unwrapped, surrounding blank
// lines trimmed) when it has no elements, else the result's elements
// pretty-printed. Result.Data is the <result> element as nested
// map[string]any / []any / string: an element with only text is its string,
// repeated elements become a []any, attributes appear as "@name" keys (and
// the text of an element with attributes as "#text").
func ParseResponse(body []byte, cli string) (transports.Result, error) {
	r, err := parseResponse(body)
	if err != nil {
		return transports.Result{}, err
	}
	if r.failed() {
		return transports.Result{}, r.deviceError(cli)
	}
	if r.result == nil {
		return transports.Result{Data: map[string]any{}}, nil
	}
	if len(r.result.children) == 0 {
		t := strings.Trim(r.result.text.String(), "\r\n")
		return transports.Result{Text: t, Data: t}, nil
	}
	var b strings.Builder
	for _, c := range r.result.children {
		pretty(&b, c, 0)
	}
	return transports.Result{Text: strings.TrimRight(b.String(), "\n"), Data: toData(r.result)}, nil
}

// toData converts an element to the Data form described at ParseResponse.
func toData(n *node) any {
	if len(n.children) == 0 && len(n.attrs) == 0 {
		return strings.TrimSpace(n.text.String())
	}
	m := make(map[string]any, len(n.children)+len(n.attrs))
	for _, a := range n.attrs {
		m["@"+a.Name.Local] = a.Value
	}
	if len(n.children) == 0 {
		m["#text"] = strings.TrimSpace(n.text.String())
		return m
	}
	for _, c := range n.children {
		v := toData(c) // a string or a map, never a []any
		switch old := m[c.name].(type) {
		case nil:
			m[c.name] = v
		case []any:
			m[c.name] = append(old, v)
		default:
			m[c.name] = []any{old, v}
		}
	}
	return m
}

// pretty writes n indented by two spaces per level, one element per line,
// text escaped.
func pretty(b *strings.Builder, n *node, depth int) {
	ind := strings.Repeat("  ", depth)
	b.WriteString(ind + "<" + n.name)
	for _, a := range n.attrs {
		b.WriteString(" " + a.Name.Local + `="`)
		escape(b, a.Value)
		b.WriteString(`"`)
	}
	text := strings.TrimSpace(n.text.String())
	switch {
	case len(n.children) == 0 && text == "":
		b.WriteString("/>\n")
	case len(n.children) == 0:
		b.WriteString(">")
		escape(b, text)
		b.WriteString("</" + n.name + ">\n")
	default:
		b.WriteString(">\n")
		for _, c := range n.children {
			pretty(b, c, depth+1)
		}
		b.WriteString(ind + "</" + n.name + ">\n")
	}
}
