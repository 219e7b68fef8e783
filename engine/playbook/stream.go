package playbook

// This file decodes a playbook's top-level steps: list one item at a time,
// so a playbook of many steps never holds a YAML tree of all of them: the
// rest of the file (its skeleton, the list's lines left blank) is decoded
// as one document, then each item alone, its nodes dropped once decoded.
// The text must be plain enough for that to read exactly as the whole file
// would (no tab, CR, odd line break, BOM, document marker or directive; no
// anchor or alias; each item a complete YAML text on its own lines), and
// the playbook must load without a single error: anything else is loaded
// whole, so every error is worded by the same code as before and the
// stream decides nothing the whole-file load would not.

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// stepStream is the top-level steps: list of a playbook split into items.
type stepStream struct {
	src []byte
	// keyLine is the line of `steps:`.
	keyLine int
	items   []stepChunk
	// key is the `steps` key node of the skeleton; failed says an item did
	// not decode as it must.
	key    *yaml.Node
	failed bool
	// lazy: keep no step, but the batches, to read them again (lazy.go).
	lazy    bool
	batches []lazyBatch
}

// stepChunk is one item: its bytes in src and its first line (int32: a
// playbook of many steps holds one per step while it loads).
type stepChunk struct{ start, end, line int32 }

// plainText reports whether src holds none of what could make lines count
// or characters read differently once cut into pieces: a tab, a CR, a line
// or paragraph separator, NEL, a byte order mark, invalid UTF-8, a
// directive or a document marker.
func plainText(src []byte) bool {
	if !utf8.Valid(src) || bytes.ContainsAny(src, "\t\r\u0085\u2028\u2029\ufeff") {
		return false
	}
	for l := range bytes.Lines(src) {
		if bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")) || bytes.HasPrefix(l, []byte("%")) {
			return false
		}
	}
	return true
}

// stepsKeyLine says whether l is a top-level `steps:` with nothing after
// it but spaces and a comment.
func stepsKeyLine(l []byte) bool {
	rest, ok := bytes.CutPrefix(l, []byte("steps:"))
	if !ok {
		return false
	}
	t := bytes.TrimLeft(rest, " ")
	return len(t) == 0 || t[0] == '#' && len(t) < len(rest)
}

// lineIndent is the number of leading spaces of l and whether anything
// but a comment follows them.
func lineIndent(l []byte) (int, bool) {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n, n < len(l) && l[n] != '#'
}

// seqItem says whether l starts a list item at column ind.
func seqItem(l []byte, ind int) bool {
	return len(l) > ind && l[ind] == '-' && (len(l) == ind+1 || l[ind+1] == ' ')
}

// splitSteps finds the top-level steps: list of src and cuts it into
// items. It returns the skeleton, src with the list's lines blank, and
// false when src is not plain enough to be read in pieces.
func splitSteps(src []byte) ([]byte, *stepStream, bool) {
	if len(src) > math.MaxInt32 || !plainText(src) {
		return nil, nil, false
	}
	st := &stepStream{src: src}
	// Offsets: where the list's lines start (after `steps:`) and end.
	from, to := -1, -1
	ind := -1
	line, off := 0, 0
	for l := range bytes.Lines(src) {
		line++
		start := off
		off += len(l)
		l = bytes.TrimSuffix(l, []byte("\n"))
		switch {
		case from < 0:
			if stepsKeyLine(l) {
				st.keyLine, from = line, off
			}
			continue
		case to >= 0:
			if stepsKeyLine(l) {
				return nil, nil, false // a second steps: key
			}
			continue
		}
		n, content := lineIndent(l)
		if !content {
			if len(st.items) > 0 {
				st.items[len(st.items)-1].end = int32(off)
			}
			continue // a blank line or a comment
		}
		if ind < 0 {
			if !seqItem(l, n) {
				return nil, nil, false // not a block list
			}
			ind = n
		}
		switch {
		case n == ind && seqItem(l, ind):
			st.items = append(st.items, stepChunk{start: int32(start), end: int32(off), line: int32(line)})
		case n > ind:
			st.items[len(st.items)-1].end = int32(off)
		case n == 0:
			to = start // the next top-level key
		default:
			return nil, nil, false
		}
	}
	if len(st.items) == 0 {
		return nil, nil, false
	}
	if to < 0 {
		to = len(src)
	}
	skel := make([]byte, 0, from+len(src)-to+bytes.Count(src[from:to], []byte("\n")))
	skel = append(skel, src[:from]...)
	skel = append(skel, bytes.Repeat([]byte("\n"), bytes.Count(src[from:to], []byte("\n")))...)
	skel = append(skel, src[to:]...)
	return skel, st, true
}

// streamRoot checks the skeleton's root: a mapping with the `steps` key at
// st.keyLine and nothing after it, and no anchor or alias anywhere.
func (st *stepStream) streamRoot(root *yaml.Node) bool {
	if root.Kind != yaml.MappingNode || hasAnchor(root) {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "steps" {
			continue
		}
		if st.key != nil || k.Kind != yaml.ScalarNode || k.Style != 0 || k.Line != st.keyLine || k.Column != 1 ||
			v.Kind != yaml.ScalarNode || v.Tag != "!!null" || v.Value != "" {
			return false
		}
		st.key = k
	}
	return st.key != nil
}

// stepBatch is the number of items decoded as one YAML document: enough
// to spread the cost of a document, few enough to hold little.
const stepBatch = 64

// streamSteps decodes the items of st a few at a time, as steps decodes
// the list's nodes; it sets st.failed when the items do not read apart as
// they read in the file. Each batch of consecutive items is one YAML
// document on its own, after a `---` line (readBatch), decoded ahead of
// the check while it checks the batch before (ahead.go). With st.lazy it
// keeps no step: it notes each batch instead (lazy.go), and drops the
// batch's expressions, compiled when it is read again.
func (l *loader) streamSteps(file string, st *stepStream) []*Step {
	var out []*Step
	if !st.lazy {
		out = make([]*Step, 0, len(st.items))
	}
	jobs := make([]batchJob, 0, (len(st.items)+stepBatch-1)/stepBatch)
	for i := 0; i < len(st.items); i += stepBatch {
		items := st.items[i:min(i+stepBatch, len(st.items))]
		jobs = append(jobs, batchJob{st.src[items[0].start:items[len(items)-1].end], len(items)})
	}
	ahead := readAhead(jobs, false)
	defer ahead.stop()
	for i := 0; i < len(st.items); i += stepBatch {
		items := st.items[i:min(i+stepBatch, len(st.items))]
		first, last := items[0], items[len(items)-1]
		chunk := st.src[first.start:last.end]
		_, seq, ok := ahead.next()
		if !ok {
			st.failed = true
			return nil
		}
		shift := int(first.line) - 2
		for j, item := range seq.Content {
			// Each item starts where the split saw it start.
			if item.Line+shift != int(items[j].line) {
				st.failed = true
				return nil
			}
		}
		from, order := len(l.pending), l.facts.f.n
		var steps []*Step
		for j, item := range seq.Content {
			shiftLines(item, shift)
			steps = append(steps, l.step(file, item)...)
			seq.Content[j] = nil
		}
		for _, s := range steps {
			l.facts.add(s, true)
		}
		if !st.lazy {
			out = append(out, steps...)
			continue
		}
		st.batches = append(st.batches, lazyBatch{
			start: int64(first.start), end: int64(last.end), line: int(first.line), items: len(items), order: order,
			sum: sha256.Sum256(chunk), exprs: len(l.pending) > from,
		})
		l.pending = l.pending[:from]
	}
	return out
}

// readBatch decodes chunk, a batch of n items, as the one document of a
// YAML text after a `---` line (its first item at line 2), in buf reused:
// a list of n items with no anchor or alias. Only the last chunk of a
// file can lack a line break, and nothing follows it: a block scalar at
// the end of the file keeps no break it did not have.
func readBatch(buf, chunk []byte, n int) ([]byte, *yaml.Node, bool) {
	buf = append(append(buf[:0], "---\n"...), chunk...)
	dec := yaml.NewDecoder(bytes.NewReader(buf))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil || len(doc.Content) != 1 {
		return buf, nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != n || hasAnchor(seq) {
		return buf, nil, false
	}
	if err := dec.Decode(&extra); err != io.EOF {
		return buf, nil, false
	}
	return buf, seq, true
}

// shiftLines adds off to the line of n and of everything under it.
func shiftLines(n *yaml.Node, off int) {
	n.Line += off
	for _, c := range n.Content {
		shiftLines(c, off)
	}
}
