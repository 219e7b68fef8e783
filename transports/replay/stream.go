package replay

// This file decodes a cassette as a stream: the header, then one exchange
// (or export) at a time, so neither the file nor a YAML tree of all of it
// is ever held. The format is the same YAML; any text the stream does not
// read exactly as the whole-file decoder would (a flow-style list, an
// anchor used across exchanges, a key after exchanges:, any error) makes
// it give up, and Decode reads the whole file instead, which words every
// error. So the stream decides nothing the whole-file decoder would not.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/internal/yamlerr"
)

// decodeStream reads a cassette from r; name labels it. It reports false
// when it cannot read the text as the whole-file decoder would, or when
// that decoder would refuse it: the caller then decodes the whole file.
func decodeStream(name string, r io.Reader) (*Cassette, bool) {
	return newStreamer(name, r).run()
}

func newStreamer(name string, r io.Reader) *streamer {
	return &streamer{br: bufio.NewReaderSize(r, 64<<10), d: decoder{name: name}, ind: -1}
}

type streamer struct {
	br   *bufio.Reader
	d    decoder
	line int // lines read so far
	// held is a line read but not used yet (the first line of the next
	// item); heldOK says there is one.
	held   []byte
	heldOK bool
	eof    bool
	// noBreak says the line last returned had no line break (the end of a
	// file that does not end with one).
	noBreak bool
	// odd says a line holds a character YAML also takes as a line break
	// (a lone CR, NEL, U+2028, U+2029): lines would not count the same.
	odd bool
	// chunk holds the lines of the item being read (each with the line
	// break it had); starts and ends are each line's offsets, without it.
	chunk        []byte
	starts, ends []int
	// open says the chunk's last line has no line break.
	open bool
	// ind is the column of the items, -1 before the first.
	ind int
	// fast counts the items fastExchange read (for the tests).
	fast int
	// lit is where literal puts a block together before its one string.
	lit []byte
	// check says the exchanges are read only to check them (Open): their
	// command, output, xml and transport are left empty, every decision
	// taken as when they are read.
	check bool
}

// next returns the next line without its line break, and false at the end.
// The slice is valid until the next call.
func (s *streamer) next() ([]byte, bool, error) {
	if s.heldOK {
		s.heldOK = false
		s.noBreak = false
		return s.held, true, nil
	}
	if s.eof {
		return nil, false, nil
	}
	l, err := s.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		// A line longer than the buffer: keep reading it.
		long := append([]byte(nil), l...)
		for err == bufio.ErrBufferFull {
			l, err = s.br.ReadSlice('\n')
			long = append(long, l...)
		}
		l = long
	}
	if err == io.EOF {
		s.eof = true
		if len(l) == 0 {
			return nil, false, nil
		}
	} else if err != nil {
		return nil, false, err
	}
	s.line++
	var cut bool
	l, cut = bytes.CutSuffix(l, []byte("\n"))
	s.noBreak = !cut
	if cut {
		l = bytes.TrimSuffix(l, []byte("\r"))
	}
	if oddLine(l) {
		s.odd = true
	}
	return l, true, nil
}

// oddLine reports whether l holds a character YAML also takes as a line
// break: CR, NEL (U+0085), U+2028 or U+2029. The last three are looked
// for only in a line holding their first byte (0xc2, 0xe2).
func oddLine(l []byte) bool {
	if bytes.IndexByte(l, '\r') >= 0 {
		return true
	}
	if bytes.IndexByte(l, 0xc2) >= 0 && bytes.Contains(l, []byte("\u0085")) {
		return true
	}
	return bytes.IndexByte(l, 0xe2) >= 0 && (bytes.Contains(l, []byte("\u2028")) || bytes.Contains(l, []byte("\u2029")))
}

func (s *streamer) hold(l []byte) {
	s.held = append(s.held[:0], l...)
	s.heldOK = true
}

// exchangesLine is the line that starts the list of exchanges, as Encode
// writes it (trailing spaces and a comment allowed).
func exchangesLine(l []byte) bool {
	rest, ok := bytes.CutPrefix(l, []byte("exchanges:"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#' && len(rest) < len(l)-len("exchanges:")
}

// indentOf is the number of leading spaces of l and whether l holds
// anything else (false: blank).
func indentOf(l []byte) (int, bool) {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n, n < len(l)
}

// isItem says whether l starts a list item at column ind.
func isItem(l []byte, ind int) bool {
	return len(l) > ind && l[ind] == '-' && (len(l) == ind+1 || l[ind+1] == ' ')
}

func (s *streamer) run() (*Cassette, bool) {
	c, ok := s.header()
	if !ok {
		return nil, false
	}
	for {
		x, e, more, ok := s.nextItem(len(c.Exchanges))
		switch {
		case !ok:
			return nil, false
		case !more:
			return c, true
		case e != nil:
			c.Exports = append(c.Exports, *e)
		default:
			c.Exchanges = append(c.Exchanges, x)
		}
	}
}

// header reads every line before `exchanges:` and decodes them as one
// document, by the same code as a whole file.
func (s *streamer) header() (*Cassette, bool) {
	var head bytes.Buffer
	found := false
	for {
		l, ok, err := s.next()
		if err != nil || !ok {
			return nil, false
		}
		if exchangesLine(l) {
			found = true
			break
		}
		head.Write(l)
		head.WriteByte('\n')
	}
	if !found {
		return nil, false
	}
	doc, probs := yamlerr.Decode(head.Bytes())
	if len(probs) > 0 || doc == nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "exchanges" {
			return nil, false
		}
	}
	c := &Cassette{}
	s.d.cassette(root, c)
	if s.d.err != nil {
		return nil, false
	}
	return c, true
}

// nextItem reads the next item: an exchange, or an export (e) recorded after
// the exchanges before it; more is false at the end of the list, ok false
// when the stream gives up.
func (s *streamer) nextItem(exchanges int) (x Exchange, e *Export, more, ok bool) {
	for {
		l, ok, err := s.next()
		if err != nil || s.odd {
			return x, nil, false, false
		}
		if !ok {
			return x, nil, false, true
		}
		n, any := indentOf(l)
		if !any || l[n] == '#' {
			continue // blank lines and comments before the first item
		}
		if s.ind < 0 {
			s.ind = n
		}
		if n != s.ind || !isItem(l, s.ind) {
			return x, nil, false, false
		}
		x, e, ok := s.item(l, s.ind, exchanges)
		return x, e, ok, ok
	}
}

// item reads the item that starts with line first (at column ind), leaving
// the first line of the next item held: an exchange, or an export (e).
func (s *streamer) item(first []byte, ind, exchanges int) (Exchange, *Export, bool) {
	start := s.line
	s.chunk, s.starts, s.ends = s.chunk[:0], s.starts[:0], s.ends[:0]
	add := func(l []byte) {
		s.starts = append(s.starts, len(s.chunk))
		s.chunk = append(s.chunk, l...)
		s.ends = append(s.ends, len(s.chunk))
		s.open = s.noBreak
		if !s.noBreak {
			s.chunk = append(s.chunk, '\n')
		}
	}
	add(first)
	for {
		l, ok, err := s.next()
		if err != nil {
			return Exchange{}, nil, false
		}
		if !ok {
			break
		}
		n, any := indentOf(l)
		if any && n <= ind && l[n] != '#' {
			if n == ind && isItem(l, ind) {
				s.hold(l)
				break
			}
			return Exchange{}, nil, false // a key after the list, a document marker, ...
		}
		add(l)
	}
	if s.odd {
		return Exchange{}, nil, false
	}
	if x, ok := s.fastExchange(ind, start); ok && !s.open {
		s.fast++
		return x, nil, true
	}
	// Not in the shape fastExchange reads: YAML decodes this item alone.
	doc, probs := yamlerr.Decode(s.chunk)
	if len(probs) > 0 || doc == nil || len(doc.Content) != 1 {
		return Exchange{}, nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != 1 || seq.Line != 1 {
		return Exchange{}, nil, false
	}
	item := seq.Content[0]
	shiftLines(item, start-1)
	if item.Kind == yaml.MappingNode && len(item.Content) > 0 && item.Content[0].Value == "export" {
		e := s.d.export(item)
		e.After = exchanges
		return Exchange{}, &e, s.d.err == nil
	}
	x := s.d.exchange(item)
	return x, nil, s.d.err == nil
}

// shiftLines adds off to the line of n and of everything under it.
func shiftLines(n *yaml.Node, off int) {
	n.Line += off
	for _, k := range n.Content {
		shiftLines(k, off)
	}
}

// fastExchange reads the item in s.chunk (first line start, at column
// ind) when it is an exchange in the plain shape Encode writes: keys
// command, xml, transport, duration and output, each a plain, simply
// quoted or literal-block scalar. It reports false for anything else (an
// error, data, a double-quoted escape, a comment, an unusual indent), which
// YAML then decodes.
func (s *streamer) fastExchange(ind, start int) (Exchange, bool) {
	x := Exchange{Line: start}
	keyInd := ind + 2
	seen := false
	nl := len(s.starts)
	line := func(i int) []byte { return s.chunk[s.starts[i]:s.ends[i]] }
	for i := 0; i < nl; {
		l := line(i)
		if i == 0 {
			if len(l) <= keyInd { // "- " checked by the caller
				return x, false
			}
			l = l[keyInd:]
		} else {
			n, any := indentOf(l)
			if !any {
				i++
				continue
			}
			if n != keyInd {
				return x, false
			}
			l = l[keyInd:]
		}
		colon := bytes.Index(l, []byte(": "))
		if colon <= 0 {
			return x, false
		}
		key, val := string(l[:colon]), bytes.TrimLeft(l[colon+2:], " ")
		var v string
		var ok bool
		i++
		if len(val) > 0 && val[0] == '|' {
			v, i, ok = s.literal(val, keyInd, i, line, !s.check || key == "duration")
		} else {
			var raw []byte
			if raw, ok = flowBytes(val); ok && key == "duration" {
				if x.Duration, ok = readDuration(raw); !ok {
					return x, false
				}
				continue
			}
			if ok && !s.check {
				v = string(raw)
			}
		}
		if !ok {
			return x, false
		}
		switch key {
		case "command":
			x.Command, seen = v, true
		case "xml":
			x.XML = v
		case "transport":
			x.Transport = v
		case "output":
			x.Output = v
		case "duration":
			if x.Duration, ok = readDuration([]byte(v)); !ok {
				return x, false
			}
		default:
			return x, false
		}
	}
	return x, seen
}

// literal reads a literal block scalar whose header (after "key: ") is
// head, for a key at column keyInd, its content starting at line i; it
// returns the value (empty unless keep) and the first line after it. Only the headers Encode
// writes, with content indented two more than the key, are read.
func (s *streamer) literal(head []byte, keyInd, i int, line func(int) []byte, keep bool) (string, int, bool) {
	chomp := byte(0)
	switch string(bytes.TrimRight(head, " ")) {
	case "|", "|2":
	case "|-", "|2-":
		chomp = '-'
	case "|+", "|2+":
		chomp = '+'
	default:
		return "", i, false
	}
	explicit := len(head) > 1 && head[1] == '2'
	ind := keyInd + 2
	nl := len(s.starts)
	b := s.lit[:0]
	breaks := 0 // line breaks held back: trailing ones obey the chomping
	content := false
	for ; i < nl; i++ {
		l := line(i)
		n, any := indentOf(l)
		if !any {
			if n > ind {
				if !content && !explicit {
					return "", i, false // would set the indent of an auto-detected block
				}
				goto text
			}
			breaks++
			continue
		}
		if n < ind {
			break
		}
		if !content && !explicit && (n != ind || l[n] == '\t') {
			// An auto-detected indent other than Encode's, or a tab YAML
			// refuses as indentation.
			return "", i, false
		}
	text:
		if !printable(l[ind:]) {
			return "", i, false
		}
		if content {
			b = append(b, '\n')
		}
		for range breaks {
			b = append(b, '\n')
		}
		breaks = 0
		b = append(b, l[ind:]...)
		content = true
	}
	if !content {
		return "", i, false
	}
	switch chomp {
	case 0:
		b = append(b, '\n')
	case '+':
		b = append(b, '\n')
		for range breaks {
			b = append(b, '\n')
		}
	}
	if cap(b) <= 64<<10 { // a big output is not held after
		s.lit = b
	}
	if !keep {
		return "", i, true
	}
	return string(b), i, true
}

// flowBytes reads a one-line scalar the way YAML does, when it is a plain
// scalar that cannot be anything but its text, or a quoted one without
// escapes; false for anything else. The text is a part of v, or new bytes
// for a single-quoted scalar holding ”.
func flowBytes(v []byte) ([]byte, bool) {
	v = bytes.TrimRight(v, " ")
	if len(v) == 0 || !printable(v) || bytes.IndexByte(v, '\t') >= 0 {
		return nil, false
	}
	switch v[0] {
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return nil, false
		}
		in := v[1 : len(v)-1]
		// '' is one quote; a lone quote ends the scalar early.
		if bytes.Count(in, []byte("'"))%2 != 0 || bytes.Contains(bytes.ReplaceAll(in, []byte("''"), nil), []byte("'")) {
			return nil, false
		}
		return bytes.ReplaceAll(in, []byte("''"), []byte("'")), true
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return nil, false
		}
		in := v[1 : len(v)-1]
		if bytes.ContainsAny(in, "\"\\") {
			return nil, false
		}
		return in, true
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`':
		return nil, false
	}
	if bytes.Contains(v, []byte(": ")) || bytes.Contains(v, []byte(" #")) || v[len(v)-1] == ':' {
		return nil, false
	}
	switch string(v) {
	case "~", "null", "Null", "NULL":
		return nil, false
	}
	return v, true
}

// printable reports whether YAML takes every character of b as it is in a
// scalar: valid UTF-8, no control characters but tab, no line or paragraph
// separator, no byte order mark. Eight bytes of printable ASCII (0x20 to
// 0x7e) are taken at once, the last eight too (they may overlap the word
// before); any other word, and the rest of a text shorter than eight, is
// read byte by byte.
func printable(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if !printableWord(binary.LittleEndian.Uint64(b[i:])) {
			break
		}
	}
	if i+8 > len(b) && i < len(b) && len(b) >= 8 && printableWord(binary.LittleEndian.Uint64(b[len(b)-8:])) {
		return true // the last word, overlapping the one before
	}
	for i < len(b) {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return false
		case r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff, r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
			return false
		}
		i += n
	}
	return true
}

// printableWord reports whether each of the 8 bytes of w is in 0x20 to
// 0x7e: none has its high bit, none is below 0x20, none is 0x7f. The
// borrow tests answer exactly whether any byte is below 0x20 or equal to
// 0x7f when no byte has its high bit (the tricks of "Bit Twiddling Hacks",
// haszero and hasless).
func printableWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if w&highs != 0 {
		return false
	}
	below := (w - 0x20*ones) &^ w & highs
	del := w ^ 0x7f*ones
	return below|((del-ones)&^del&highs) == 0
}

// readDuration reads an exchange's duration as time.ParseDuration does
// (encodedDuration first, for those Encode writes); false for a text it
// refuses or a negative duration.
func readDuration(b []byte) (time.Duration, bool) {
	d, ok := encodedDuration(b)
	if !ok {
		var err error
		if d, err = time.ParseDuration(string(b)); err != nil {
			return 0, false
		}
	}
	return d, d >= 0
}

// encodedDuration reads the durations Encode writes below a minute
// ("45ms", "1.5s", "0s": digits, at most nine of them before and after a
// point, then ms or s) as time.ParseDuration does, without a string; false
// for any other text, which ParseDuration then reads.
func encodedDuration(b []byte) (time.Duration, bool) {
	unit := time.Second
	if n := len(b); n > 2 && b[n-2] == 'm' && b[n-1] == 's' {
		b, unit = b[:n-2], time.Millisecond
	} else if n > 1 && b[n-1] == 's' {
		b = b[:n-1]
	} else {
		return 0, false
	}
	whole, rest := digits(b)
	if len(whole) == 0 || len(whole) > 9 {
		return 0, false
	}
	d := time.Duration(0)
	for _, c := range whole {
		d = d*10 + time.Duration(c-'0')
	}
	d *= unit
	if len(rest) == 0 {
		return d, true
	}
	if rest[0] != '.' {
		return 0, false
	}
	frac, rest := digits(rest[1:])
	if len(frac) == 0 || len(frac) > 9 || len(rest) > 0 {
		return 0, false
	}
	f, scale := time.Duration(0), time.Duration(1)
	for _, c := range frac {
		f, scale = f*10+time.Duration(c-'0'), scale*10
	}
	return d + f*(unit/scale), unit%scale == 0
}

// digits splits b after its leading ASCII digits.
func digits(b []byte) (ds, rest []byte) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return b[:i], b[i:]
}
