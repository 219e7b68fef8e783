package sessionlog

import (
	"bytes"
	"io"
	"sync"
)

// Sizes at which Write gives up waiting for a line to end: past softMax
// pending bytes it writes up to the last white space, past hardMax all of
// them.
const (
	softMax = 64 << 10
	hardMax = 1 << 20
)

// Writer redacts a transcript and writes it to an underlying writer. It is
// safe for concurrent use (a shell's reader and writer, concurrent API
// calls).
//
// Redaction is applied to each piece before it is written, never to the
// file afterwards. A piece ends at a line end; so a secret split across
// two Writes (two reads of the channel) is whole when it is redacted. A
// line that does not end (a prompt, a question) waits for the next line
// end, for Flush, which writes up to the last white space, or for Close.
// Cutting at white space is safe because the redactor looks for every
// word of a value that holds white space on its own (secret.Redactor.Add).
// Only a run of more than 1 MiB without white space is cut anywhere.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	redact func(string) string
	buf    []byte
	err    error
}

// New returns a Writer that writes to w what redact leaves of each piece.
// redact is called at the time each piece is written, so a secret
// registered later (a generated API key) is redacted from every piece
// written after it was registered.
func New(w io.Writer, redact func(string) string) *Writer {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &Writer{w: w, redact: redact}
}

// Write buffers p and writes every complete line, redacted. It reports the
// first error of the underlying writer; p is always taken whole.
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		l.emit(i + 1)
	}
	if len(l.buf) > softMax {
		if i := lastSpace(l.buf); i >= 0 {
			l.emit(i + 1)
		}
	}
	if len(l.buf) > hardMax {
		l.emit(len(l.buf))
	}
	return len(p), l.err
}

// Flush writes what is pending up to its last white space (a prompt
// "admin@fw> " ends with one), keeping a word that may be the start of a
// secret for the next Write.
func (l *Writer) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := lastSpace(l.buf); i >= 0 {
		l.emit(i + 1)
	}
	return l.err
}

// Close writes everything still pending. It does not close the underlying
// writer.
func (l *Writer) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emit(len(l.buf))
	return l.err
}

// emit writes buf[:n] redacted and keeps the rest. l.mu is held.
func (l *Writer) emit(n int) {
	if n == 0 {
		return
	}
	s := l.redact(string(l.buf[:n]))
	l.buf = append(l.buf[:0], l.buf[n:]...)
	if l.err != nil {
		return
	}
	if _, err := io.WriteString(l.w, s); err != nil {
		l.err = err
	}
}

func lastSpace(b []byte) int {
	return bytes.LastIndexAny(b, " \t\r\n")
}

// Flush flushes w if it can be flushed (a *Writer); transports call it
// when an exchange is complete, so the file is current while the run goes
// on.
func Flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}
