package replay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// Errors a replay returns when the session departs from the cassette,
// matched with errors.Is. Both come wrapped in a *MismatchError that says
// where.
var (
	// ErrMismatch: the command is not the one the cassette expects next
	// (Strict), or was never recorded (ByCommand).
	ErrMismatch = errors.New("command does not match the cassette")
	// ErrExhausted: every recorded answer has been used.
	ErrExhausted = errors.New("cassette has no more exchanges")
)

// MismatchError is a command the cassette cannot answer, with its position.
type MismatchError struct {
	// Cassette is the cassette file ("cassette" if it has no path).
	Cassette string
	// Index is the 1-based number of the exchange expected, 0 if none.
	Index int
	// Line is that exchange's line in the cassette, 0 if unknown.
	Line int
	// Want is the recorded command expected, Got the command sent (secrets
	// redacted).
	Want, Got string
	// Err is ErrMismatch or ErrExhausted.
	Err error

	msg string
}

func (e *MismatchError) Error() string { return e.msg }

// Unwrap returns ErrMismatch or ErrExhausted, and transports.ErrDiverged:
// the run cannot go on with answers out of step.
func (e *MismatchError) Unwrap() []error { return []error{e.Err, transports.ErrDiverged} }

// Mode is how a replay picks the recorded answer to a command.
type Mode int

const (
	// Strict requires commands in the recorded order.
	Strict Mode = iota
	// ByCommand answers each command with its next recorded answer,
	// wherever it comes in the session.
	ByCommand
)

// Options configure a replay.
type Options struct {
	// Mode is Strict (the default) or ByCommand.
	Mode Mode
	// Redact is applied to each command before matching (and before it is
	// shown in an error), so a command carrying a secret matches the
	// cassette where the secret was replaced by a placeholder. Use the
	// run's (*Redaction).Secrets, or a secret.Redactor's String.
	Redact func(string) string
	// Pace 0 (the default) replays in virtual time: nothing sleeps and
	// VirtualTime reports true. Pace > 0 sleeps each recorded duration
	// times Pace (1 is real time), for demos and for testing cancellation.
	Pace float64
}

// Transport plays a cassette back. Run never blocks on anything but ctx
// when paced, and never at all in virtual time.
type Transport struct {
	c *Cassette
	// xs are the exchanges, n their number; lazy reads them one at a time
	// instead (Strict over a cassette read by Open), xs nil.
	xs     []Exchange
	n      int
	lazy   *lazyReader
	opts   Options
	m      *matcher
	err    error // a cassette that cannot be replayed (bad patterns)
	name   string
	dir    string
	shapes []shape
	byKey  map[string][]int

	mu      sync.Mutex
	pos     int // Strict: the next exchange
	used    []bool
	left    int
	expUsed []bool

	closeOnce sync.Once
	closed    chan struct{}
}

var (
	_ transports.Transport    = (*Transport)(nil)
	_ transports.Exporter     = (*Transport)(nil)
	_ transports.VirtualClock = (*Transport)(nil)
	_ transports.Instant      = (*Transport)(nil)
)

// New returns a Transport replaying c. c must not be changed while the
// Transport is in use; several Transports may share one Cassette. A
// Strict replay of a cassette read by Open reads its exchanges from the
// file as the session comes to them; any other replay of it reads them all
// here (an error then is returned by Run).
func New(c *Cassette, opts Options) *Transport {
	t := &Transport{
		c:       c,
		opts:    opts,
		name:    c.Path,
		xs:      c.Exchanges,
		n:       len(c.Exchanges),
		expUsed: make([]bool, len(c.Exports)),
		closed:  make(chan struct{}),
	}
	if t.name == "" {
		t.name = "(in memory)"
	} else {
		t.dir = filepath.Dir(c.Path)
	}
	t.m, t.err = newMatcher(c.Redaction, opts.Redact)
	if t.err != nil {
		t.err = fmt.Errorf("replay: cassette %s: %w", t.name, t.err)
		return t
	}
	if c.lazy != nil {
		t.n = c.lazy.n
		if opts.Mode == Strict {
			t.lazy = &lazyReader{lf: c.lazy, cur: -1}
			t.left = t.n
			return t
		}
		var err error
		if t.xs, err = c.lazy.all(); err != nil {
			t.err = err
			return t
		}
	}
	t.left = t.n
	t.used = make([]bool, t.n)
	t.shapes = make([]shape, t.n)
	t.byKey = map[string][]int{}
	for i, x := range t.xs {
		t.shapes[i] = t.m.recorded(x.Command)
		k := t.shapes[i].skel
		t.byKey[k] = append(t.byKey[k], i)
	}
	return t
}

// Dial is a transports.Dialer that replays t.Cassette in Strict mode.
func Dial(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
	return Dialer(Options{})(ctx, t, o)
}

// Dialer returns a transports.Dialer that replays t.Cassette with opts.
func Dialer(opts Options) transports.Dialer {
	return func(_ context.Context, t transports.Target, _ transports.DialOptions) (transports.Transport, error) {
		if t.Cassette == "" {
			return nil, fmt.Errorf("replay: target %s: no cassette given", t.Name)
		}
		c, err := Open(t.Cassette)
		if err != nil {
			return nil, fmt.Errorf("replay: target %s: %w", t.Name, err)
		}
		return New(c, opts), nil
	}
}

// VirtualTime reports true unless the replay is paced: the engine then
// does not sleep for waits and intervals.
func (t *Transport) VirtualTime() bool { return t.opts.Pace <= 0 }

// Instant reports true when not paced: Run then never blocks (wait
// returns at once) and reads ctx only as it is called.
func (t *Transport) Instant() bool { return t.opts.Pace <= 0 }

// Interactive reports whether the recorded transport could answer
// Command.Prompts: every transport but the XML API alone.
func (t *Transport) Interactive() bool { return t.c.Target.Transport != "xmlapi" }

// Facts returns the recorded facts.
func (t *Transport) Facts() transports.Facts {
	f := make(transports.Facts, len(t.c.Target.Facts))
	for k, v := range t.c.Target.Facts {
		f[k] = v
	}
	return f
}

// Remaining returns the number of exchanges not used yet.
func (t *Transport) Remaining() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.left
}

// Close ends the replay. It is safe to call more than once and from
// another goroutine during Run, which then returns ErrClosed if paced.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() { close(t.closed) })
	t.mu.Lock()
	if t.lazy != nil {
		t.lazy.close()
	}
	t.mu.Unlock()
	return nil
}

func (t *Transport) isClosed() bool {
	select {
	case <-t.closed:
		return true
	default:
		return false
	}
}

// Run answers cmd with the next matching recorded exchange: its output, and
// its recorded error as the same typed error a live transport returns. A
// cmd.Timeout shorter than the recorded duration gives ErrTimeout at once
// (after the timeout, if paced).
func (t *Transport) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if err := ctx.Err(); err != nil {
		return transports.Result{}, fmt.Errorf("replay: %w", err)
	}
	if t.isClosed() {
		return transports.Result{}, fmt.Errorf("replay: %w", transports.ErrClosed)
	}
	if t.err != nil {
		return transports.Result{}, t.err
	}
	var x Exchange
	var err error
	if cmd.Shown != "" {
		// The caller already replaced each substituted secret: the
		// literal text is matched as written, never redacted again. A
		// cassette written by hand may hold the secret itself: then the
		// command is matched as sent (the error shows the shown form).
		shown := *t.m
		shown.redact = nil
		x, err = t.next(&shown, cmd.Shown)
		if err != nil && cmd.Shown != cmd.CLI && errors.Is(err, ErrMismatch) {
			if x2, err2 := t.next(t.m, cmd.CLI); err2 == nil {
				x, err = x2, nil
			}
		}
	} else {
		x, err = t.next(t.m, cmd.CLI)
	}
	if err != nil {
		return transports.Result{}, err
	}
	d, timedOut := x.Duration, cmd.Timeout > 0 && x.Duration > cmd.Timeout
	if timedOut {
		d = cmd.Timeout
	}
	if err := t.wait(ctx, d); err != nil {
		return transports.Result{}, err
	}
	if timedOut {
		return transports.Result{}, fmt.Errorf("replay: %q took %s when recorded, over its timeout of %s: %w",
			x.Command, x.Duration, cmd.Timeout, transports.ErrTimeout)
	}
	if x.Error != nil && x.Error.Kind == KindClosed {
		// The recorded session was lost here: so is this one, as a live
		// transport's would be; a caller must re-open to go on.
		t.Close()
	}
	return transports.Result{Text: x.Output, Data: x.Data, Transport: x.Transport}, x.Error.Err(x.Command)
}

// wait sleeps d times Pace when paced, returning early on ctx or Close.
func (t *Transport) wait(ctx context.Context, d time.Duration) error {
	if t.opts.Pace <= 0 || d <= 0 {
		return nil
	}
	timer := time.NewTimer(time.Duration(float64(d) * t.opts.Pace))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("replay: %w", ctx.Err())
	case <-t.closed:
		return fmt.Errorf("replay: %w", transports.ErrClosed)
	}
}

// next finds and consumes the exchange that answers cli, as m sees it. It
// returns a copy, made under t.mu: a lazy reader reuses its exchange.
func (t *Transport) next(m *matcher, cli string) (Exchange, error) {
	in := m.incoming(cli)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.opts.Mode == ByCommand {
		return t.nextByCommand(m, cli, in)
	}
	if t.pos >= t.n {
		return Exchange{}, t.mismatch(0, 0, "", cli, ErrExhausted,
			"all %d exchanges used, got `%s`", t.n, m.display(cli))
	}
	i := t.pos
	x, sh, err := t.exchange(i)
	if err != nil {
		return Exchange{}, err
	}
	add, err := m.match(sh, in)
	if err != nil {
		msg := "exchange %d (line %d) expects `%s`, got `%s`"
		if errors.Is(err, errBinding) {
			msg += " (" + err.Error() + ")"
		}
		return Exchange{}, t.mismatch(i+1, x.Line, x.Command, cli, ErrMismatch, msg, i+1, x.Line, x.Command, m.display(cli))
	}
	m.commit(add)
	t.pos++
	if t.used != nil {
		t.used[i] = true
	}
	t.left--
	return *x, nil
}

// exchange returns exchange i (Strict: the next) and its shape, read from
// the file when the cassette is read lazily.
func (t *Transport) exchange(i int) (*Exchange, shape, error) {
	if t.lazy == nil {
		return &t.xs[i], t.shapes[i], nil
	}
	x, err := t.lazy.read(i)
	if err != nil {
		return nil, shape{}, err
	}
	if !t.lazy.shaped {
		t.lazy.sh, t.lazy.shaped = t.m.recorded(x.Command), true
	}
	return x, t.lazy.sh, nil
}

func (t *Transport) nextByCommand(m *matcher, cli string, in shape) (Exchange, error) {
	idx := t.byKey[in.skel]
	if len(idx) == 0 {
		return Exchange{}, t.mismatch(0, 0, "", cli, ErrMismatch, "no exchange for `%s`", m.display(cli))
	}
	var firstErr error
	for _, i := range idx {
		if t.used[i] {
			continue
		}
		add, err := m.match(t.shapes[i], in)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		m.commit(add)
		t.used[i] = true
		t.left--
		return t.xs[i], nil
	}
	if firstErr != nil {
		return Exchange{}, t.mismatch(0, 0, "", cli, ErrMismatch, "no exchange for `%s` (%v)", m.display(cli), firstErr)
	}
	last := idx[len(idx)-1]
	return Exchange{}, t.mismatch(last+1, t.xs[last].Line, t.xs[last].Command, cli, ErrExhausted,
		"all %d answers to `%s` used (the last is exchange %d, line %d)",
		len(idx), m.display(cli), last+1, t.xs[last].Line)
}

// mismatch is the MismatchError of exchange index (1-based, 0 for none)
// at line.
func (t *Transport) mismatch(index, line int, want, got string, sentinel error, format string, args ...any) error {
	e := &MismatchError{Cassette: t.name, Index: index, Line: line, Want: want, Got: t.m.display(got), Err: sentinel}
	e.msg = "cassette " + t.name + ": " + fmt.Sprintf(format, args...)
	return e
}

// CanExport reports whether the recorded transport could export category.
func (t *Transport) CanExport(category string) bool {
	return slices.Contains(t.c.ExportCategories, category)
}

// Export writes the recorded bytes of the next recorded export of
// req.Category and req.File to w.
func (t *Transport) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	if err := ctx.Err(); err != nil {
		return transports.ExportInfo{}, fmt.Errorf("replay: export: %w", err)
	}
	if t.isClosed() {
		return transports.ExportInfo{}, fmt.Errorf("replay: export: %w", transports.ErrClosed)
	}
	if !t.CanExport(req.Category) {
		return transports.ExportInfo{}, fmt.Errorf("replay: export %s: %w", req.Category, transports.ErrNotSupported)
	}
	e, err := t.nextExport(req)
	if err != nil {
		return transports.ExportInfo{}, err
	}
	what := e.Category
	if e.File != "" {
		what += " " + e.File
	}
	if e.Error != nil {
		return transports.ExportInfo{Transport: e.Transport}, fmt.Errorf("replay: export %s: %w", what, e.Error.Err("export "+what))
	}
	if req.MaxBytes > 0 && e.Size > req.MaxBytes {
		return transports.ExportInfo{}, fmt.Errorf("replay: export %s: %d bytes, over the limit of %d", what, e.Size, req.MaxBytes)
	}
	var src io.Reader
	switch {
	case e.Content != nil:
		src = bytes.NewReader(e.Content)
	case e.Path != "":
		p := e.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(t.dir, p)
		}
		f, err := os.Open(p)
		if err != nil {
			return transports.ExportInfo{}, fmt.Errorf("replay: export %s: %w", what, err)
		}
		defer f.Close()
		src = f
	default:
		return transports.ExportInfo{}, fmt.Errorf("replay: export %s: the recording kept no content: %w", what, transports.ErrNotSupported)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), src)
	if req.Progress != nil {
		req.Progress(n, e.Size)
	}
	if err != nil {
		return transports.ExportInfo{}, fmt.Errorf("replay: export %s: %w", what, err)
	}
	if n != e.Size || (e.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) != e.SHA256) {
		return transports.ExportInfo{}, fmt.Errorf("replay: export %s: content differs from the recorded size and sha256 (changed since recording?)", what)
	}
	return transports.ExportInfo{Name: e.Name, Size: n, Transport: e.Transport}, nil
}

func (t *Transport) nextExport(req transports.ExportRequest) (*Export, error) {
	file := t.m.incoming(req.File).skel
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.c.Exports {
		e := &t.c.Exports[i]
		if t.expUsed[i] || e.Category != req.Category || t.m.recorded(e.File).skel != file {
			continue
		}
		t.expUsed[i] = true
		return e, nil
	}
	return nil, t.mismatch(0, 0, "", req.Category+" "+req.File, ErrMismatch,
		"no export of %s %s recorded (or all used)", req.Category, t.m.display(req.File))
}
