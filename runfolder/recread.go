package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/runbook-dev/runbook/engine"
)

// unmarshalRecord decodes b, the JSON of one step record, into rec as
// json.Unmarshal(b, rec) does into a zero record: with the same result,
// or, where it fails, with its error. The usual record (the keys
// appendJSON writes, each once or more; strings of printable ASCII
// without a backslash; integers without fraction or exponent; times
// Time.UnmarshalJSON takes) is decoded here without reflection, indented
// or not; any other is handed to json.Unmarshal.
func unmarshalRecord(b []byte, rec *engine.StepRecord) error {
	*rec = engine.StepRecord{}
	if decodeRecord(b, rec) {
		return nil
	}
	*rec = engine.StepRecord{}
	return json.Unmarshal(b, rec)
}

// recDecoder reads one step record's JSON from b at i.
type recDecoder struct {
	b []byte
	i int
	// a, when set, gathers the record's strings, to be made at once
	// (arena.flush) instead of one by one.
	a *arena
}

// setString sets *p to v: at once, or when d.a is flushed.
func (d *recDecoder) setString(p *string, v []byte) {
	if d.a == nil {
		*p = string(v)
		return
	}
	d.a.refs = append(d.a.refs, strRef{p, len(d.a.buf), len(d.a.buf) + len(v)})
	d.a.buf = append(d.a.buf, v...)
}

// arena gathers the strings of several records, made into one string when
// it is flushed: one allocation a batch instead of four a record. A string
// kept from it keeps the batch's strings in memory.
type arena struct {
	buf  []byte
	refs []strRef
}

// strRef is a string to set, p, to buf[start:end].
type strRef struct {
	p          *string
	start, end int
}

// mark is where the arena is, for drop.
func (a *arena) mark() (int, int) { return len(a.buf), len(a.refs) }

// drop forgets what was gathered since mark.
func (a *arena) drop(buf, refs int) {
	clear(a.refs[refs:])
	a.buf, a.refs = a.buf[:buf], a.refs[:refs]
}

// flush sets every string gathered, and empties the arena.
func (a *arena) flush() {
	s := string(a.buf)
	for _, r := range a.refs {
		*r.p = s[r.start:r.end]
	}
	a.drop(0, 0)
}

func (d *recDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// is consumes c, if it is next.
func (d *recDecoder) is(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string that JSON holds as it is written (printable ASCII,
// no backslash) and returns it with its quotes.
func (d *recDecoder) str() ([]byte, bool) {
	start := d.i
	if !d.is('"') {
		return nil, false
	}
	for d.i < len(d.b) {
		c := d.b[d.i]
		d.i++
		switch {
		case c == '"':
			return d.b[start:d.i], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// integer reads -?(0|[1-9][0-9]*) of at most 18 digits: what an int
// holds on any platform Go supports, but for 32-bit ones past 2^31.
func (d *recDecoder) integer() (int, bool) {
	start := d.i
	d.is('-')
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 18 || (n > 1 && d.b[digits] == '0') {
		return 0, false
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 0)
	return int(v), err == nil
}

// decodeRecord decodes b into rec, and reports whether it could: see
// unmarshalRecord. When it cannot, rec holds part of b.
func decodeRecord(b []byte, rec *engine.StepRecord) bool {
	d := recDecoder{b: b}
	return d.whole(rec)
}

// whole decodes d.b, all of it, into rec (decodeRecord).
func (d *recDecoder) whole(rec *engine.StepRecord) bool {
	d.ws()
	ok := d.record(rec)
	d.ws()
	return ok && d.i == len(d.b)
}

// record decodes the object at d.i into rec, and reports whether it
// could (see unmarshalRecord); d.i is then just past it.
func (d *recDecoder) record(rec *engine.StepRecord) bool {
	return d.object(func(key []byte) bool {
		var sp, known *string // known: a field of few values (known)
		var ip *int
		switch string(key) {
		case "seq":
			ip = &rec.Seq
		case "line":
			ip = &rec.Line
		case "run":
			ip = &rec.Run
		case "accepted_form":
			rec.AcceptedForm = new(int)
			ip = rec.AcceptedForm
		case "id":
			sp = &rec.ID
		case "kind":
			known = &rec.Kind
		case "command":
			sp = &rec.Command
		case "transport":
			known = &rec.Transport
		case "item":
			sp = &rec.Item
		case "status":
			known = &rec.Status
		case "error":
			sp = &rec.Error
		case "output":
			sp = &rec.Output
		case "sha256":
			sp = &rec.SHA256
		case "note":
			sp = &rec.Note
		case "start", "end":
			v, ok := d.str()
			if !ok {
				return false
			}
			t := &rec.Start
			if key[0] == 'e' {
				t = &rec.End
			}
			if t.UnmarshalJSON(v) != nil {
				return false
			}
		case "not_evidence":
			switch {
			case d.i+4 <= len(d.b) && string(d.b[d.i:d.i+4]) == "true":
				rec.NotEvidence = true
				d.i += 4
			case d.i+5 <= len(d.b) && string(d.b[d.i:d.i+5]) == "false":
				rec.NotEvidence = false
				d.i += 5
			default:
				return false
			}
		case "lets":
			lets, ok := d.lets()
			if !ok {
				return false
			}
			rec.Lets = lets
		default: // refused, a key in another case, one unknown
			return false
		}
		switch {
		case ip != nil:
			var ok bool
			if *ip, ok = d.integer(); !ok {
				return false
			}
		case sp != nil, known != nil:
			v, ok := d.str()
			if !ok {
				return false
			}
			if sp != nil {
				d.setString(sp, v[1:len(v)-1])
			} else {
				*known = knownValue(v[1 : len(v)-1])
			}
		}
		return true
	})
}

// object reads an object whose keys are strings as str reads them,
// handing each key (without its quotes) to member, which reads its value
// (after the colon and whitespace) and reports whether it could. It
// reports whether the whole object could be read so.
func (d *recDecoder) object(member func(key []byte) bool) bool {
	if !d.is('{') {
		return false
	}
	d.ws()
	if d.is('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if !d.is(':') {
			return false
		}
		d.ws()
		if !member(key[1 : len(key)-1]) {
			return false
		}
		d.ws()
		if d.is('}') {
			return true
		}
		if !d.is(',') {
			return false
		}
		d.ws()
	}
}

// lets reads a record's lets: an array of objects that each have the
// keys name and value, strings as str reads them, and no other. One
// without both is left to json.Unmarshal, which would keep in it what an
// earlier "lets" of the same record left there.
func (d *recDecoder) lets() ([]engine.LetValue, bool) {
	if !d.is('[') {
		return nil, false
	}
	lets := []engine.LetValue{} // as json.Unmarshal gives [], not nil
	d.ws()
	if d.is(']') {
		return lets, true
	}
	for {
		var l engine.LetValue
		var name, value bool
		ok := d.object(func(key []byte) bool {
			v, ok := d.str()
			if !ok {
				return false
			}
			switch string(key) {
			case "name":
				l.Name, name = string(v[1:len(v)-1]), true
			case "value":
				l.Value, value = string(v[1:len(v)-1]), true
			default:
				return false
			}
			return true
		})
		if !ok || !name || !value {
			return nil, false
		}
		lets = append(lets, l)
		d.ws()
		if d.is(']') {
			return lets, true
		}
		if !d.is(',') {
			return nil, false
		}
		d.ws()
	}
}

// knownValue is v as a string, without a copy when it is one of the
// usual kinds, statuses and transports of a step.
func knownValue(v []byte) string {
	switch string(v) {
	case "run":
		return "run"
	case "ok":
		return "ok"
	case "failed":
		return "failed"
	case "skipped":
		return "skipped"
	case "ssh":
		return "ssh"
	case "xmlapi":
		return "xmlapi"
	case "replay":
		return "replay"
	}
	return string(v)
}

// lexer reads manifest.json for scan: the structure of its top-level
// object and of its steps array, and each value in it whole, as raw
// bytes that a JSON decoder then checks.
type lexer struct {
	r    io.Reader
	buf  []byte
	i, n int
	read bool // a byte has been read: EOF is then unexpected
	err  error
}

func newLexer(r io.Reader) *lexer { return &lexer{r: r, buf: make([]byte, 64<<10)} }

// more makes at least one byte ready, and reports whether it could.
func (l *lexer) more() bool {
	for l.i == l.n {
		if l.err != nil {
			return false
		}
		var n int
		n, l.err = l.r.Read(l.buf)
		l.i, l.n = 0, n
	}
	return true
}

// fail is the error of input that ended too soon, or of a read.
func (l *lexer) fail() error {
	if l.err == nil || l.err == io.EOF {
		if !l.read {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	return l.err
}

// next skips whitespace and returns the next byte, not consumed.
func (l *lexer) next() (byte, error) {
	for l.more() {
		switch c := l.buf[l.i]; c {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			l.read = true
			return c, nil
		}
	}
	return 0, l.fail()
}

// want consumes c after whitespace, or fails saying what came instead.
func (l *lexer) want(c byte, what string) error {
	got, err := l.next()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("manifest: want %s, got %q", what, got)
	}
	l.i++
	return nil
}

// value appends the next value, after whitespace, to dst as it is
// written: a string to its closing quote, an object or array to the
// bracket that closes it, anything else to the byte before the next
// whitespace or delimiter. It does not check the value.
func (l *lexer) value(dst []byte) ([]byte, error) {
	c, err := l.next()
	if err != nil {
		return dst, err
	}
	switch c {
	case '}', ']', ',', ':':
		return dst, fmt.Errorf("manifest: want a value, got %q", c)
	}
	depth := 0
	if c == '{' || c == '[' {
		depth = 1
	}
	inString, escaped := c == '"', false
	literal := !inString && depth == 0
	start := l.i
	l.i++
	for {
		if l.i == l.n {
			dst = append(dst, l.buf[start:l.n]...)
			if !l.more() {
				if literal {
					return dst, nil // at the end of the input
				}
				return dst, l.fail()
			}
			start = l.i
		}
		if inString && !escaped {
			// the bytes of a string up to its next quote or backslash
			for l.i < l.n && l.buf[l.i] != '"' && l.buf[l.i] != '\\' {
				l.i++
			}
			if l.i == l.n {
				continue
			}
		}
		b := l.buf[l.i]
		if inString {
			l.i++
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
				if depth == 0 {
					return append(dst, l.buf[start:l.i]...), nil
				}
			}
			continue
		}
		if literal {
			switch b {
			case ' ', '\t', '\n', '\r', ',', ':', '}', ']', '"', '{', '[':
				return append(dst, l.buf[start:l.i]...), nil
			}
			l.i++
			continue
		}
		l.i++
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return append(dst, l.buf[start:l.i]...), nil
			}
		}
	}
}

// scan reads a manifest from r as Scan tells.
func scan(r io.Reader, fn func(engine.StepRecord) error) (*engine.Manifest, error) {
	return scanLexer(newLexer(r), fn)
}

// batchFn is handed each batch of records decoded (batch[:n], full but
// for the last) and returns the slice to fill next.
type batchFn func(batch []engine.StepRecord) (next []engine.StepRecord, err error)

// oneByOne is fn as a batchFn, for batches of one record: fn sees each
// record before the next is read, as Scan tells.
func oneByOne(fn func(engine.StepRecord) error) batchFn {
	return func(b []engine.StepRecord) ([]engine.StepRecord, error) {
		for _, r := range b {
			if err := fn(r); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
}

func scanLexer(l *lexer, fn func(engine.StepRecord) error) (*engine.Manifest, error) {
	return scanBatches(l, make([]engine.StepRecord, 1), nil, oneByOne(fn))
}

// scanBatches reads a manifest from l, handing its steps to fn in batches
// of up to len(batch) records (fn says where the next go), their strings
// made through a when it is set.
func scanBatches(l *lexer, batch []engine.StepRecord, a *arena, fn batchFn) (*engine.Manifest, error) {
	if err := l.want('{', `"{"`); err != nil {
		return nil, err
	}
	// Every other key is small: kept as written, decoded at the end.
	rest := []byte{'{'}
	var raw []byte
	for first := true; ; first = false {
		c, err := l.next()
		if err != nil {
			return nil, err
		}
		if c == '}' {
			if !first {
				return nil, errors.New(`manifest: want a key, got "}"`)
			}
			break
		}
		if raw, err = l.value(raw[:0]); err != nil {
			return nil, err
		}
		key, err := keyOf(raw)
		if err != nil {
			return nil, err
		}
		if err := l.want(':', `":"`); err != nil {
			return nil, err
		}
		if key == "steps" {
			if raw, err = scanSteps(l, raw, batch, a, fn); err != nil {
				return nil, err
			}
		} else {
			if len(rest) > 1 {
				rest = append(rest, ',')
			}
			rest = append(rest, raw...)
			rest = append(rest, ':')
			n := len(rest)
			if rest, err = l.value(rest); err != nil {
				return nil, err
			}
			if err := checkJSON(rest[n:]); err != nil {
				return nil, err
			}
		}
		c, err = l.next()
		if err != nil {
			return nil, err
		}
		l.i++
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, fmt.Errorf(`manifest: want "," or "}", got %q`, c)
		}
	}
	rest = append(rest, '}')
	var m engine.Manifest
	if err := json.Unmarshal(rest, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// keyOf is the string of the key raw, which value read.
func keyOf(raw []byte) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("manifest: want a key, got %s", raw)
	}
	d := recDecoder{b: raw}
	if s, ok := d.str(); ok && d.i == len(raw) {
		return string(s[1 : len(s)-1]), nil
	}
	var key string
	err := json.Unmarshal(raw, &key)
	return key, err
}

// checkJSON returns the error json.Unmarshal gives for raw when raw is
// not one valid JSON value.
func checkJSON(raw []byte) error {
	if json.Valid(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return fmt.Errorf("manifest: invalid value %s", raw)
}

// scanSteps reads the value of the steps key, null or an array of step
// records, handing them to fn in batches (scanBatches); buf is room for
// one record. A record the lexer holds whole, of the usual kind
// (unmarshalRecord), is decoded where it lies; any other is copied out
// whole (lexer.value) first.
func scanSteps(l *lexer, buf []byte, batch []engine.StepRecord, a *arena, fn batchFn) ([]byte, error) {
	c, err := l.next()
	if err != nil {
		return buf, err
	}
	if c != '[' {
		if buf, err = l.value(buf[:0]); err != nil {
			return buf, err
		}
		if string(buf) == "null" {
			return buf, nil
		}
		return buf, fmt.Errorf("manifest: steps: want an array, got %s", buf)
	}
	l.i++
	if c, err = l.next(); err != nil {
		return buf, err
	}
	if c == ']' {
		l.i++
		return buf, nil
	}
	n := 0
	for {
		if buf, err = decodeNext(l, buf, &batch[n], a); err != nil {
			return buf, err
		}
		if n++; n == len(batch) {
			if a != nil {
				a.flush()
			}
			if batch, err = fn(batch); err != nil {
				return buf, err
			}
			batch, n = batch[:cap(batch)], 0
		}
		if c, err = l.next(); err != nil {
			return buf, err
		}
		l.i++
		if c == ']' {
			if n == 0 {
				return buf, nil
			}
			if a != nil {
				a.flush()
			}
			_, err = fn(batch[:n])
			return buf, err
		}
		if c != ',' {
			return buf, fmt.Errorf(`manifest: steps: want "," or "]", got %q`, c)
		}
	}
}

// decodeNext decodes the next value of l, a step record, into rec, as
// unmarshalRecord does; buf is room for it.
func decodeNext(l *lexer, buf []byte, rec *engine.StepRecord, a *arena) ([]byte, error) {
	var ab, ar int
	if a != nil {
		ab, ar = a.mark()
	}
	c, err := l.next()
	if err != nil {
		return buf, err
	}
	if c == '{' {
		*rec = engine.StepRecord{}
		d := recDecoder{b: l.buf[l.i:l.n], a: a}
		if d.record(rec) {
			l.i += d.i
			return buf, nil
		}
		if a != nil {
			a.drop(ab, ar)
		}
	}
	if buf, err = l.value(buf[:0]); err != nil {
		return buf, err
	}
	*rec = engine.StepRecord{}
	d := recDecoder{b: buf, a: a}
	if d.whole(rec) {
		return buf, nil
	}
	if a != nil {
		a.drop(ab, ar)
	}
	*rec = engine.StepRecord{}
	return buf, json.Unmarshal(buf, rec)
}
