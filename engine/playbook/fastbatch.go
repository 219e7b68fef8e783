package playbook

// This file builds the YAML tree of a batch of steps written in a small,
// plain subset of YAML without yaml.v3, whose decode was most of what a
// long playbook's load and run cost (issue #14): a block list of block
// mappings whose keys are lower-case words and whose values are plain
// one-line words or decimal integers, or mappings of the same. The tree
// is the one yaml.v3 builds for the batch, node for node (the same kind,
// style, tag, value, line and column, no comment); a batch with anything
// else (a quote, a flow collection, a block scalar, a comment, a value
// over two lines, a key twice, ...) is left to yaml.v3, as are the parts
// of the subset it might read otherwise. FuzzFastBatch holds the two
// equal.

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// fastDepth is the most mappings fastBatch nests, the item's included.
const fastDepth = 8

// fastBatch returns the list readBatch's decode returns for chunk, a
// batch of n items (its first at line 2), and false when chunk is not of
// the subset this file reads (it is then for yaml.v3 to read).
func fastBatch(chunk []byte, n int) (*yaml.Node, bool) {
	p := fastParser{src: chunk}
	p.next()
	if p.eof || n < 1 {
		return nil, false
	}
	ind := p.ind
	seq := p.node()
	*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.line, Column: ind + 1}
	items := make([]*yaml.Node, 0, n)
	for !p.eof {
		l := p.cur
		if p.ind != ind || len(items) == n || !seqItem(l, ind) || len(l) < ind+3 {
			return nil, false
		}
		m, ok := p.mapping(ind+2, 1)
		if !ok {
			return nil, false
		}
		items = append(items, m)
	}
	if len(items) != n {
		return nil, false
	}
	seq.Content = items
	return seq, true
}

// fastParser reads src a line at a time: cur is the line being read (no
// break), line its number in readBatch's document, ind its indentation;
// eof says no line with content is left. It allocates nodes a block at a
// time.
type fastParser struct {
	src   []byte
	cur   []byte
	line  int
	ind   int
	eof   bool
	nodes []yaml.Node
	stack []*yaml.Node
	ptrs  []*yaml.Node
}

// next moves to the next line with content, past lines of spaces only.
func (p *fastParser) next() {
	if p.line == 0 {
		p.line = 1 // the "---" line readBatch puts first
	}
	for len(p.src) > 0 {
		l := p.src
		if i := bytes.IndexByte(l, '\n'); i >= 0 {
			l, p.src = l[:i], l[i+1:]
		} else {
			p.src = nil
		}
		p.line++
		n := 0
		for n < len(l) && l[n] == ' ' {
			n++
		}
		if n < len(l) {
			p.cur, p.ind = l, n
			return
		}
	}
	p.cur, p.eof = nil, true
}

// node returns a new node, zero.
func (p *fastParser) node() *yaml.Node {
	if len(p.nodes) == 0 {
		p.nodes = make([]yaml.Node, 256)
	}
	n := &p.nodes[0]
	p.nodes = p.nodes[1:]
	return n
}

// content returns a slice of its own (no room to grow into another's)
// holding nodes.
func (p *fastParser) content(nodes []*yaml.Node) []*yaml.Node {
	if len(p.ptrs) < len(nodes) {
		p.ptrs = make([]*yaml.Node, max(1024, len(nodes)))
	}
	c := p.ptrs[:len(nodes):len(nodes)]
	p.ptrs = p.ptrs[len(nodes):]
	copy(c, nodes)
	return c
}

// mapping reads a block mapping whose keys are at column col (from 0),
// its first key on the current line (after a list item's dash when it is
// an item), and leaves the parser at the first line after it.
func (p *fastParser) mapping(col, depth int) (*yaml.Node, bool) {
	if depth > fastDepth {
		return nil, false
	}
	m := p.node()
	*m = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.line, Column: col + 1}
	from := len(p.stack)
	for {
		l, line := p.cur, p.line
		k := col
		for k < len(l) && (l[k] >= 'a' && l[k] <= 'z' || l[k] == '_' || k > col && l[k] >= '0' && l[k] <= '9') {
			k++
		}
		if k == col || k == len(l) || l[k] != ':' {
			return nil, false
		}
		key := string(l[col:k])
		if key == "true" || key == "false" || key == "null" {
			return nil, false
		}
		for i := from; i < len(p.stack); i += 2 {
			if p.stack[i].Value == key {
				return nil, false // yaml.v3 says what a key twice is
			}
		}
		kn := p.node()
		*kn = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line, Column: col + 1}
		var vn *yaml.Node
		if k+1 == len(l) {
			// A mapping under the key, on the lines below, indented more.
			p.next()
			if p.eof || p.ind <= col {
				return nil, false
			}
			p.stack = append(p.stack, kn)
			v, ok := p.mapping(p.ind, depth+1)
			if !ok {
				return nil, false
			}
			vn = v
		} else {
			v := k + 1
			for v < len(l) && l[v] == ' ' {
				v++
			}
			tag, ok := fastScalar(l[v:])
			if v == k+1 || !ok {
				return nil, false
			}
			vn = p.node()
			*vn = yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(l[v:]), Line: line, Column: v + 1}
			p.stack = append(p.stack, kn)
			p.next()
		}
		p.stack = append(p.stack, vn)
		if p.eof || p.ind < col {
			break
		}
		if p.ind > col {
			return nil, false // a value over two lines, or a mapping out of line
		}
	}
	m.Content = p.content(p.stack[from:])
	clear(p.stack[from:])
	p.stack = p.stack[:from]
	return m, true
}

// fastScalar returns the tag yaml.v3 gives v, a plain scalar alone on the
// rest of its line: !!str for a word of printable ASCII that starts with
// a letter, holds no character YAML may read as more than text and ends
// in no space, and is no null or bool; !!int for a decimal integer of at
// most 18 digits with no leading zero. It is false for anything else.
func fastScalar(v []byte) (string, bool) {
	if len(v) == 0 || v[len(v)-1] == ' ' {
		return "", false
	}
	if c := v[0]; c >= '0' && c <= '9' {
		if len(v) > 18 || c == '0' && len(v) > 1 {
			return "", false
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				return "", false
			}
		}
		return "!!int", true
	}
	if c := v[0] | 0x20; c < 'a' || c > 'z' {
		return "", false
	}
	for _, c := range v {
		if c < 0x20 || c > 0x7e || fastSpecial[c] {
			return "", false
		}
	}
	switch string(v) {
	case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
		return "", false
	}
	return "!!str", true
}

// fastSpecial marks the characters fastScalar leaves to yaml.v3.
var fastSpecial = func() (t [256]bool) {
	for _, c := range "#:'\"{}[],&*!|>%@`\\\t" {
		t[c] = true
	}
	return t
}()
