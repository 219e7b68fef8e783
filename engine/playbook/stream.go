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
	"hash"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// stepStream is the top-level steps: list of a playbook split into
// batches of items.
type stepStream struct {
	// src is the text when it is held; nil when the batches are read from
	// file (loadFile), which holds no more of it than a batch.
	src  []byte
	file *os.File
	// keyLine is the line of `steps:`; ind the column of its items' dashes
	// (from 0).
	keyLine int
	ind     int
	// items counts the items; spans are the batches, in order: their
	// bytes, first line, items, and the sum of their bytes.
	items int
	spans []lazyBatch
	// key is the `steps` key node of the skeleton; failed says an item did
	// not decode as it must.
	key    *yaml.Node
	failed bool
	// lazy: keep no step, but the batches, to read them again (lazy.go).
	lazy    bool
	batches []lazyBatch
}

// chunk returns the bytes of batch b, in buf reused when they are read
// from the file: false when they cannot be read, or differ from what the
// split saw. It is safe for concurrent use.
func (st *stepStream) chunk(b lazyBatch, buf []byte) ([]byte, bool) {
	if st.file == nil {
		return st.src[b.start:b.end], true
	}
	buf = slices.Grow(buf[:0], int(b.end-b.start))[:b.end-b.start]
	if n, _ := st.file.ReadAt(buf, b.start); n != len(buf) || sha256.Sum256(buf) != b.sum {
		return buf, false
	}
	return buf, true
}

// itemLines calls fn with the line of each item of chunk, a batch whose
// first line is line, as the split saw them start.
func itemLines(chunk []byte, line, ind int, fn func(int)) {
	for l := range bytes.Lines(chunk) {
		l = bytes.TrimSuffix(l, []byte("\n"))
		if n, content := lineIndent(l); content && n == ind && seqItem(l, ind) {
			fn(line)
		}
		line++
	}
}

// plainLine reports whether l, a line with its break, holds none of what
// could make lines count or characters read differently once the text is
// cut into pieces: a tab, a CR, a line or paragraph separator, NEL, a byte
// order mark, invalid UTF-8, a directive or a document marker. A text is
// plain when each of its lines is.
func plainLine(l []byte) bool {
	return utf8.Valid(l) && !bytes.ContainsAny(l, "\t\r\u0085\u2028\u2029\ufeff") &&
		!bytes.HasPrefix(l, []byte("---")) && !bytes.HasPrefix(l, []byte("...")) && !bytes.HasPrefix(l, []byte("%"))
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

// splitter finds the top-level steps: list of a text given a line at a
// time and cuts it into batches of stepBatch items: the skeleton (the text
// with the list's lines blank), the batches' bytes and sums, and the sum
// of the whole text. It holds of the text only the skeleton.
type splitter struct {
	st   *stepStream
	skel []byte
	sum  hash.Hash
	// batch sums the bytes of the batch being cut, open says there is one.
	batch hash.Hash
	open  bool
	line  int
	off   int64
	// in: the list has begun (from) and not ended (to).
	from, to bool
	bad      bool
}

func newSplitter() *splitter {
	return &splitter{st: &stepStream{ind: -1}, sum: sha256.New(), batch: sha256.New()}
}

// add takes the next line of the text, with its break (the last may have
// none).
func (sp *splitter) add(raw []byte) {
	sp.sum.Write(raw)
	if sp.bad {
		return
	}
	if !plainLine(raw) || sp.off+int64(len(raw)) > math.MaxInt32 {
		sp.bad = true
		return
	}
	st := sp.st
	sp.line++
	start := sp.off
	sp.off += int64(len(raw))
	l := bytes.TrimSuffix(raw, []byte("\n"))
	switch {
	case !sp.from:
		sp.skel = append(sp.skel, raw...)
		if stepsKeyLine(l) {
			st.keyLine, sp.from = sp.line, true
		}
		return
	case sp.to:
		if stepsKeyLine(l) {
			sp.bad = true // a second steps: key
		}
		sp.skel = append(sp.skel, raw...)
		return
	}
	n, content := lineIndent(l)
	switch {
	case !content:
		if sp.open {
			sp.extend(raw)
		}
	case st.ind < 0 && !seqItem(l, n):
		sp.bad = true // not a block list
	case st.ind < 0 || n == st.ind && seqItem(l, st.ind):
		st.ind = n
		if st.items%stepBatch == 0 {
			sp.close()
			st.spans = append(st.spans, lazyBatch{start: start, end: start, line: sp.line})
			sp.open = true
		}
		st.items++
		st.spans[len(st.spans)-1].items++
		sp.extend(raw)
	case n > st.ind:
		sp.extend(raw)
	case n == 0:
		sp.close()
		sp.to = true
		sp.skel = append(sp.skel, raw...)
		return
	default:
		sp.bad = true
	}
	if bytes.HasSuffix(raw, []byte("\n")) {
		sp.skel = append(sp.skel, '\n')
	}
}

// extend adds raw to the batch being cut.
func (sp *splitter) extend(raw []byte) {
	sp.batch.Write(raw)
	sp.st.spans[len(sp.st.spans)-1].end += int64(len(raw))
}

// close ends the batch being cut, if any.
func (sp *splitter) close() {
	if !sp.open {
		return
	}
	b := &sp.st.spans[len(sp.st.spans)-1]
	sp.batch.Sum(b.sum[:0])
	sp.batch.Reset()
	sp.open = false
}

// done returns the skeleton, the list, and the sum of the text; false
// when the text is not plain enough to be read in pieces.
func (sp *splitter) done() ([]byte, *stepStream, [sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	sp.sum.Sum(sum[:0])
	sp.close()
	if sp.bad || sp.st.items == 0 {
		return nil, nil, sum, false
	}
	return sp.skel, sp.st, sum, true
}

// splitSteps finds the top-level steps: list of src and cuts it into
// batches. It returns the skeleton, src with the list's lines blank, and
// false when src is not plain enough to be read in pieces.
func splitSteps(src []byte) ([]byte, *stepStream, bool) {
	sp := newSplitter()
	sp.skel = make([]byte, 0, len(src)/4)
	for l := range bytes.Lines(src) {
		sp.add(l)
	}
	skel, st, _, ok := sp.done()
	if ok {
		st.src = src
	}
	return skel, st, ok
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
		out = make([]*Step, 0, st.items)
	}
	ahead := readAhead(st, st.spans, false)
	defer ahead.stop()
	for _, b := range st.spans {
		d := ahead.next()
		ok, seq := d.ok, d.seq
		if !ok {
			st.failed = true
			return nil
		}
		shift := b.line - 2
		if len(d.lines) != len(seq.Content) {
			st.failed = true
			return nil
		}
		for j, item := range seq.Content {
			// Each item starts where the split saw it start.
			if item.Line+shift != d.lines[j] {
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
		b.order, b.exprs = order, len(l.pending) > from
		st.batches = append(st.batches, b)
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
	if seq, ok := fastBatch(chunk, n); ok {
		return buf, seq, true
	}
	seq, ok := slowBatch(buf, n)
	return buf, seq, ok
}

// slowBatch is readBatch's decode by yaml.v3 of buf, its document.
func slowBatch(buf []byte, n int) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(buf))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil || len(doc.Content) != 1 {
		return nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != n || hasAnchor(seq) {
		return nil, false
	}
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, false
	}
	return seq, true
}

// shiftLines adds off to the line of n and of everything under it.
func shiftLines(n *yaml.Node, off int) {
	n.Line += off
	for _, c := range n.Content {
		shiftLines(c, off)
	}
}
