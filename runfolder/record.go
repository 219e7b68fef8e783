package runfolder

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/timetext"
)

// appendJSON appends rec's JSON to dst, the bytes json.Marshal(rec) gives.
// A record whose strings are all printable ASCII that JSON does not
// escape, whose times JSON writes as RFC 3339 and that refused no form
// (the usual one) is written here without reflection; any other goes
// through json.Marshal.
func appendJSON(dst []byte, rec engine.StepRecord) ([]byte, error) {
	b, _, err := appendRecord(dst, rec, nil)
	return b, err
}

// appendRecord is appendJSON, and reports whether rec is the usual
// record it writes without json.Marshal (plainRecord). st, if not nil,
// keeps the text of the last time written, for the next records.
func appendRecord(dst []byte, rec engine.StepRecord, st *timetext.Last) (_ []byte, plain bool, _ error) {
	if !plainRecord(&rec, st) {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, false, err
		}
		return append(dst, b...), false, nil
	}
	str := func(key, v string) {
		if v != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, key...)
			dst = append(dst, `":"`...)
			dst = append(dst, v...)
			dst = append(dst, '"')
		}
	}
	integer := func(key string, v int) {
		if v != 0 {
			dst = append(dst, `,"`...)
			dst = append(dst, key...)
			dst = append(dst, `":`...)
			dst = strconv.AppendInt(dst, int64(v), 10)
		}
	}
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, int64(rec.Seq), 10)
	str("id", rec.ID)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, rec.Kind...)
	dst = append(dst, '"')
	integer("line", rec.Line)
	str("command", rec.Command)
	str("transport", rec.Transport)
	integer("run", rec.Run)
	str("item", rec.Item)
	// RFC3339Nano alone, quotes outside: the layout time formats without
	// parsing it.
	dst = append(dst, `,"start":"`...)
	dst = st.Append(dst, rec.Start)
	dst = append(dst, `","end":"`...)
	dst = st.Append(dst, rec.End)
	dst = append(dst, `","status":"`...)
	dst = append(dst, rec.Status...)
	dst = append(dst, '"')
	str("error", rec.Error)
	str("output", rec.Output)
	str("sha256", rec.SHA256)
	str("note", rec.Note)
	if rec.AcceptedForm != nil {
		dst = append(dst, `,"accepted_form":`...)
		dst = strconv.AppendInt(dst, int64(*rec.AcceptedForm), 10)
	}
	if rec.NotEvidence {
		dst = append(dst, `,"not_evidence":true`...)
	}
	for i, l := range rec.Lets {
		if i == 0 {
			dst = append(dst, `,"lets":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":"`...)
		dst = append(dst, l.Name...)
		dst = append(dst, `","value":"`...)
		dst = append(dst, l.Value...)
		dst = append(dst, `"}`...)
	}
	if len(rec.Lets) > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}'), true, nil
}

// plainRecord reports whether appendJSON may write rec without
// json.Marshal: no refused forms, every string (lets' included) printable ASCII that JSON
// keeps as it is (no quote, backslash or HTML character), and times of a
// year JSON can write in a zone of whole minutes (a time st holds is one).
func plainRecord(rec *engine.StepRecord, st *timetext.Last) bool {
	if len(rec.Refused) > 0 || !st.Holds(rec.Start) && !plainTime(rec.Start) || !st.Holds(rec.End) && !plainTime(rec.End) {
		return false
	}
	for _, s := range [...]string{rec.ID, rec.Kind, rec.Command, rec.Transport, rec.Item, rec.Status, rec.Error, rec.Output, rec.SHA256, rec.Note} {
		if !plainString(s) {
			return false
		}
	}
	for _, l := range rec.Lets {
		if !plainString(l.Name) || !plainString(l.Value) {
			return false
		}
	}
	return true
}

// plainString reports whether JSON writes s as it is, between quotes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte is the bytes JSON writes as they are in a string: printable
// ASCII but for the quote, the backslash and < > &.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plainTime reports whether t's JSON is its RFC 3339 form with
// nanoseconds (time.Time.MarshalJSON fails on other years, and on a zone
// offset with seconds).
func plainTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off%60 == 0
}

// appendIndent appends src to dst indented as json.Indent(dst, src,
// prefix, indent) does, without its scanner. src must be valid JSON as
// json.Marshal (or appendJSON) wrote it, as every record writeManifest is
// handed is: it is not checked. What is plainly not compact (whitespace
// outside a string, brackets that do not balance, a string left open,
// nothing) is handed to json.Indent.
func appendIndent(dst, src []byte, prefix, indent string) ([]byte, error) {
	if len(src) == 0 {
		return slowIndent(dst, len(dst), src, prefix, indent)
	}
	start := len(dst)
	depth := 0
	open := false // the last byte opened an object or an array
	newline := func(dst []byte, d int) []byte {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range d {
			dst = append(dst, indent...)
		}
		return dst
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		wasOpen := open
		if open && c != '}' && c != ']' {
			dst = newline(dst, depth)
		}
		open = false
		switch c {
		case '"':
			j := stringEnd(src, i)
			if j < 0 {
				return slowIndent(dst, start, src, prefix, indent)
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		case '{', '[':
			depth++
			dst = append(dst, c)
			open = true
		case '}', ']':
			depth--
			if depth < 0 {
				return slowIndent(dst, start, src, prefix, indent)
			}
			if !wasOpen {
				dst = newline(dst, depth)
			}
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = newline(dst, depth)
		case ':':
			dst = append(dst, ':', ' ')
		case ' ', '\t', '\n', '\r':
			return slowIndent(dst, start, src, prefix, indent)
		default:
			dst = append(dst, c)
		}
	}
	if depth != 0 {
		return slowIndent(dst, start, src, prefix, indent)
	}
	return dst, nil
}

// stringEnd is the index just past the string that starts at src[i] (a
// quote), or -1 when it is left open.
func stringEnd(src []byte, i int) int {
	for j := i + 1; ; {
		q := bytes.IndexByte(src[j:], '"')
		if q < 0 {
			return -1
		}
		bs := bytes.IndexByte(src[j:j+q], '\\')
		if bs < 0 {
			return j + q + 1
		}
		// the byte after the backslash is escaped, whatever it is
		if j += bs + 2; j > len(src) {
			return -1
		}
	}
}

// slowIndent is json.Indent of src after dst[:start].
func slowIndent(dst []byte, start int, src []byte, prefix, indent string) ([]byte, error) {
	b := bytes.NewBuffer(dst[:start])
	err := json.Indent(b, src, prefix, indent)
	return b.Bytes(), err
}
