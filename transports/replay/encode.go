package replay

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ErrHeaderWritten is returned by Writer.SetHeader once the header is in
// the file.
var ErrHeaderWritten = errors.New("replay: cassette header already written")

// Writer writes a cassette as the session happens: the header before the
// first exchange, then each exchange and export with one Write as it is
// added, so a recording that is killed still leaves a readable cassette with
// every exchange completed before the kill. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	f       *os.File // set by Create: synced and closed by Close
	h       Header
	started bool
	closed  bool
	n       int // exchanges written
	err     error
}

// NewWriter returns a Writer that writes a cassette with header h to w.
// Nothing is written until the first exchange, export, Flush or Close, so
// the header may still be completed with SetHeader.
func NewWriter(w io.Writer, h Header) *Writer {
	return &Writer{w: w, h: h}
}

// Create creates (or truncates) the cassette file path, readable by its
// owner only, and returns a Writer for it. Close syncs and closes the file.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("replay: create cassette: %w", err)
	}
	w := NewWriter(f, h)
	w.f = f
	return w, nil
}

// SetHeader lets fn change the header. It fails with ErrHeaderWritten once
// the header has been written.
func (w *Writer) SetHeader(fn func(h *Header)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return ErrHeaderWritten
	}
	fn(&w.h)
	return nil
}

// Exchange appends one exchange to the cassette.
func (w *Writer) Exchange(x Exchange) error {
	var b bytes.Buffer
	writeExchange(&b, &x)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.write(b.Bytes()); err != nil {
		return err
	}
	w.n++
	return nil
}

// Export appends one export to the cassette. Its After field is set to the
// number of exchanges written so far.
func (w *Writer) Export(e Export) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	e.After = w.n
	var b bytes.Buffer
	writeExport(&b, &e)
	return w.write(b.Bytes())
}

// Flush writes the header if it is not written yet.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(nil)
}

// Close writes the header if nothing was written, and syncs and closes the
// file if the Writer was made by Create. It is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	err := w.write(nil)
	w.closed = true
	if w.f != nil {
		if serr := w.f.Sync(); err == nil && serr != nil {
			err = fmt.Errorf("replay: sync cassette: %w", serr)
		}
		if cerr := w.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("replay: close cassette: %w", cerr)
		}
	}
	if w.err == nil {
		w.err = err
	}
	return err
}

// write writes the header if needed, then p, with one Write call, and
// flushes w if it buffers. Errors are sticky. Callers hold w.mu.
func (w *Writer) write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("replay: cassette writer is closed")
	}
	if !w.started {
		var b bytes.Buffer
		writeHeader(&b, &w.h)
		b.Write(p)
		p = b.Bytes()
		w.started = true
	}
	if len(p) > 0 {
		if _, err := w.w.Write(p); err != nil {
			w.err = fmt.Errorf("replay: write cassette: %w", err)
			return w.err
		}
	}
	if f, ok := w.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			w.err = fmt.Errorf("replay: write cassette: %w", err)
			return w.err
		}
	}
	return nil
}

// Encode writes c to w in the cassette format.
func Encode(w io.Writer, c *Cassette) error {
	cw := NewWriter(w, c.Header)
	exports := append([]Export(nil), c.Exports...)
	sort.SliceStable(exports, func(i, j int) bool { return exports[i].After < exports[j].After })
	next := 0
	flushExports := func(upTo int) error {
		for next < len(exports) && exports[next].After <= upTo {
			if err := cw.Export(exports[next]); err != nil {
				return err
			}
			next++
		}
		return nil
	}
	for i, x := range c.Exchanges {
		if err := flushExports(i); err != nil {
			return err
		}
		if err := cw.Exchange(x); err != nil {
			return err
		}
	}
	if err := flushExports(int(^uint(0) >> 1)); err != nil {
		return err
	}
	return cw.Close()
}

// Save writes c to path atomically: a temporary file in the same directory
// is written, synced and renamed over path.
func Save(path string, c *Cassette) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("replay: save cassette: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := Encode(f, c); err != nil {
		f.Close()
		return fmt.Errorf("replay: save cassette %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("replay: save cassette %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("replay: save cassette %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replay: save cassette: %w", err)
	}
	return nil
}

const headerComment = "# runbook cassette: a recorded session, replayed by `runbook run --replay`.\n" +
	"# Format: docs/cassette-format.md. Outputs are literal blocks: keep trailing spaces.\n"

func writeHeader(b *bytes.Buffer, h *Header) {
	b.WriteString(headerComment)
	fmt.Fprintf(b, "version: %d\n", Version)
	if h.Playbook != "" {
		writeKey(b, "", "playbook", h.Playbook)
	}
	writeMap(b, "", "params", h.Params)
	b.WriteString("target:\n")
	writeKey(b, "  ", "name", h.Target.Name)
	if h.Target.Transport != "" {
		writeKey(b, "  ", "transport", h.Target.Transport)
	}
	writeMap(b, "  ", "facts", h.Target.Facts)
	if len(h.ExportCategories) > 0 {
		b.WriteString("export:\n  categories:\n")
		for _, c := range h.ExportCategories {
			b.WriteString("    - " + scalar(c) + "\n")
		}
	}
	if h.Redaction.Secrets || len(h.Redaction.Patterns) > 0 {
		b.WriteString("redaction:\n")
		fmt.Fprintf(b, "  secrets: %t\n", h.Redaction.Secrets)
		if len(h.Redaction.Patterns) > 0 {
			b.WriteString("  patterns:\n")
			for _, p := range h.Redaction.Patterns {
				writeKey(b, "    - ", "name", p.Name)
				writeKey(b, "      ", "regexp", p.Regexp)
			}
		}
	}
	b.WriteString("exchanges:\n")
}

func writeExchange(b *bytes.Buffer, x *Exchange) {
	writeKey(b, "  - ", "command", x.Command)
	const ind = "    "
	if x.XML != "" {
		writeKey(b, ind, "xml", x.XML)
	}
	if x.Transport != "" {
		writeKey(b, ind, "transport", x.Transport)
	}
	fmt.Fprintf(b, "%sduration: %s\n", ind, formatDuration(x.Duration))
	if x.Error != nil {
		writeError(b, ind, x.Error)
	}
	if x.Output != "" || x.Error == nil {
		writeKey(b, ind, "output", x.Output)
	}
	if x.Data != nil {
		writeData(b, ind, x.Data)
	}
}

func writeExport(b *bytes.Buffer, e *Export) {
	b.WriteString("  - export:\n")
	const ind = "      "
	writeKey(b, ind, "category", e.Category)
	if e.File != "" {
		writeKey(b, ind, "file", e.File)
	}
	if e.Transport != "" {
		writeKey(b, ind, "transport", e.Transport)
	}
	if e.Error != nil {
		writeError(b, ind, e.Error)
		return
	}
	writeKey(b, ind, "name", e.Name)
	fmt.Fprintf(b, "%ssize: %d\n", ind, e.Size)
	writeKey(b, ind, "sha256", e.SHA256)
	if e.Path != "" {
		writeKey(b, ind, "path", e.Path)
	}
	if e.Content != nil {
		writeKey(b, ind, "base64", wrap(base64.StdEncoding.EncodeToString(e.Content), 76))
	}
}

func writeError(b *bytes.Buffer, ind string, e *Error) {
	b.WriteString(ind + "error:\n")
	writeKey(b, ind+"  ", "kind", string(e.Kind))
	writeKey(b, ind+"  ", "message", e.Message)
	if e.Code != "" {
		writeKey(b, ind+"  ", "code", e.Code)
	}
}

func writeData(b *bytes.Buffer, ind string, v any) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		// Data comes from a transport as maps, slices and strings; anything
		// else is kept as its printed form rather than lost.
		buf.Reset()
		enc = yaml.NewEncoder(&buf)
		enc.Encode(fmt.Sprint(v))
	}
	enc.Close()
	out := buf.Bytes()
	b.WriteString(ind + "data:\n")
	for _, l := range strings.SplitAfter(strings.TrimSuffix(string(out), "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString(strings.TrimLeft(l, " "))
			continue
		}
		b.WriteString(ind + "  " + l)
	}
	b.WriteString("\n")
}

func writeMap(b *bytes.Buffer, ind, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(ind + key + ":\n")
	for _, k := range keys {
		writeKey(b, ind+"  ", scalar(k), m[k])
	}
}

// writeKey writes `key: value` at indentation ind (whose last two
// characters may be "- "), as a literal block when value has several lines.
func writeKey(b *bytes.Buffer, ind, key, v string) {
	if !strings.Contains(v, "\n") || !literalOK(v) {
		b.WriteString(ind + key + ": " + scalar(v) + "\n")
		return
	}
	// Content is indented two more than the key.
	cont := strings.Repeat(" ", len(ind)+2)
	trail := len(v) - len(strings.TrimRight(v, "\n"))
	head := "|"
	switch {
	case trail == 0:
		head += "-"
	case trail > 1:
		head += "+"
	}
	body := strings.TrimSuffix(v, "\n")
	// An explicit indent when the first line starts with a space (which
	// would set the indent) or a tab (which YAML refuses as indentation).
	if first := strings.TrimLeft(body, "\n"); strings.HasPrefix(first, " ") || strings.HasPrefix(first, "\t") {
		head = "|2" + head[1:]
	}
	b.WriteString(ind + key + ": " + head + "\n")
	for _, l := range strings.Split(body, "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(cont + l + "\n")
	}
}

// literalOK reports whether s can be written as a literal block and read
// back unchanged.
func literalOK(s string) bool {
	if !utf8.ValidString(s) || strings.TrimLeft(s, "\n") == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			return false
		}
	}
	return true
}

// scalar formats s as a one-line YAML scalar, quoted where YAML needs it.
func scalar(s string) string {
	if s == "" {
		return `""`
	}
	if !utf8.ValidString(s) {
		// YAML strings are Unicode; other bytes are kept exactly as binary.
		return "!!binary " + base64.StdEncoding.EncodeToString([]byte(s))
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsAny(s, "\n\r") {
		n.Style = yaml.DoubleQuotedStyle
	}
	out, err := yaml.Marshal(&n)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	// Milliseconds are plenty for a recorded duration and diff better.
	if d >= time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

func wrap(s string, n int) string {
	if len(s) <= n {
		return s
	}
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteByte('\n')
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}
