package record

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// DefaultInlineMax is the largest export stored inline in the cassette.
const DefaultInlineMax = 64 << 10

// Categories are the export categories New asks an Exporter about, to
// record which ones the transport could export. filter-pcap is the CLI's
// name of filters-pcap, which playbooks use so that they run both ways.
var Categories = []string{
	"tech-support", "device-state", "configuration", "certificate",
	"filters-pcap", "filter-pcap", "debug-pcap", "application-pcap", "threat-pcap", "dlp-pcap", "mgmt-pcap",
}

// Options configure a recording.
type Options struct {
	// Redaction redacts commands, outputs, data, errors, facts and params
	// before they are written. Nil means a Redaction with no registered
	// secrets and no patterns: the shape rules (key=, X-PAN-KEY, API keys)
	// still apply.
	Redaction *replay.Redaction
	// InlineMax is the largest export stored inline (base64) in the
	// cassette; 0 means DefaultInlineMax, negative means never. An export
	// that contains a registered secret is never stored inline.
	InlineMax int64
	// ExportPath, if set, says where the caller keeps an exported file that
	// is not stored inline, as a path relative to the cassette's directory
	// (e.g. the run folder's artifacts/). Without it such a file is
	// recorded by size and sha256 only, and replays as ErrNotSupported.
	ExportPath func(req transports.ExportRequest, info transports.ExportInfo) string
}

// Recorder is the recording wrapper. New returns it, or a wrapper around it
// that also implements transports.Exporter and/or transports.VirtualClock
// exactly when the inner transport does, so a type assertion on the
// result tells the truth.
type Recorder struct {
	inner transports.Transport
	w     *replay.Writer
	red   *replay.Redaction
	opts  Options

	mu     sync.Mutex
	err    error // the first recording error
	closed bool
}

var _ transports.Transport = (*Recorder)(nil)

// Interactive reports whether the recorded transport can answer prompts
// (false when it does not say).
func (r *Recorder) Interactive() bool {
	i, ok := r.inner.(transports.Interactive)
	return ok && i.Interactive()
}

// New wraps inner so that every exchange is written to w. It completes w's
// header with the target's redacted facts and params, the export
// categories inner supports and what redaction applies; the header must
// not have been written yet (else Close reports replay.ErrHeaderWritten).
// w stays the caller's: close it after the Recorder.
func New(inner transports.Transport, w *replay.Writer, opts Options) transports.Transport {
	red := opts.Redaction
	if red == nil {
		red, _ = replay.NewRedaction(nil) // no patterns: cannot fail
	}
	r := &Recorder{inner: inner, w: w, red: red, opts: opts}
	exp, canExport := inner.(transports.Exporter)
	var cats []string
	if canExport {
		for _, c := range Categories {
			if exp.CanExport(c) {
				cats = append(cats, c)
			}
		}
	}
	// Facts, then params, in key order: placeholders are numbered in the
	// order values are first seen, and the cassette must be deterministic.
	inFacts := inner.Facts()
	facts := make(map[string]string, len(inFacts))
	for _, k := range slices.Sorted(maps.Keys(inFacts)) {
		facts[k] = red.String(inFacts[k])
	}
	r.fail(w.SetHeader(func(h *replay.Header) {
		if h.Target.Transport == "" {
			h.Target.Transport = facts["transport"]
		}
		h.Target.Facts = facts
		params := make(map[string]string, len(h.Params))
		for _, k := range slices.Sorted(maps.Keys(h.Params)) {
			params[k] = red.String(h.Params[k])
		}
		h.Params = params
		h.ExportCategories = cats
		h.Redaction = red.Info()
	}))
	vc, isClock := inner.(transports.VirtualClock)
	switch {
	case canExport && isClock:
		return &exportingClock{exporting{r, exp}, vc}
	case canExport:
		return &exporting{r, exp}
	case isClock:
		return &clock{r, vc}
	}
	return r
}

func (r *Recorder) fail(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = fmt.Errorf("record: %w", err)
	}
}

// Err returns the first error writing the cassette, if any. Recording
// errors never change what Run returns.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// cancelled reports whether err is the caller's own cancellation: the
// exchange is then not recorded, as nobody knows what the device did.
func cancelled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) &&
		!errors.Is(err, transports.ErrTimeout)
}

func (r *Recorder) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Run sends cmd through the inner transport unchanged, records the
// exchange, and returns exactly what the inner transport returned.
func (r *Recorder) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	for _, p := range cmd.Prompts {
		if p.Secret {
			r.red.AddSecret(p.Answer)
		}
	}
	if cmd.Scp != nil && cmd.Scp.Password != "" {
		r.red.AddSecret(cmd.Scp.Password)
	}
	start := time.Now()
	res, err := r.inner.Run(ctx, cmd)
	d := time.Since(start)
	if cancelled(ctx, err) || r.isClosed() {
		return res, err
	}
	x := replay.Exchange{
		Command:   r.red.Command(cmd),
		XML:       r.red.String(cmd.XML),
		Transport: res.Transport,
		Output:    r.red.String(res.Text),
		Data:      r.red.Value(res.Data),
		Error:     replay.ErrorFrom(err, r.red.String),
		Duration:  d,
	}
	r.fail(r.w.Exchange(x))
	return res, err
}

// Facts returns the inner transport's facts, unredacted: the caller is on
// this side of the recording.
func (r *Recorder) Facts() transports.Facts { return r.inner.Facts() }

// Close closes the inner transport and writes the cassette header if no
// exchange did. It returns the inner Close error joined with the first
// recording error. It is safe to call more than once.
func (r *Recorder) Close() error {
	err := r.inner.Close()
	r.mu.Lock()
	first := !r.closed
	r.closed = true
	r.mu.Unlock()
	if first {
		r.fail(r.w.Flush())
	}
	return errors.Join(err, r.Err())
}

func (r *Recorder) export(ctx context.Context, exp transports.Exporter, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	limit := r.opts.InlineMax
	if limit == 0 {
		limit = DefaultInlineMax
	}
	tee := &tee{w: w, h: sha256.New(), max: limit}
	info, err := exp.Export(ctx, req, tee)
	if cancelled(ctx, err) || r.isClosed() {
		return info, err
	}
	e := replay.Export{Category: req.Category, File: r.red.String(req.File), Transport: info.Transport}
	if err != nil {
		e.Error = replay.ErrorFrom(err, r.red.String)
		r.fail(r.w.Export(e))
		return info, err
	}
	e.Name = r.red.String(info.Name)
	e.Size = tee.n
	e.SHA256 = hex.EncodeToString(tee.h.Sum(nil))
	if !tee.over && limit > 0 {
		// Binary content cannot be redacted; a file holding a secret is
		// kept out of the cassette instead.
		if s := tee.buf.String(); r.red.Secrets(s) == s {
			e.Content = append([]byte{}, tee.buf.Bytes()...)
		}
	}
	if e.Content == nil && r.opts.ExportPath != nil {
		e.Path = r.opts.ExportPath(req, info)
	}
	r.fail(r.w.Export(e))
	return info, err
}

// tee passes bytes to w, hashing and counting them, and keeps up to max of
// them.
type tee struct {
	w    io.Writer
	h    hash.Hash
	n    int64
	max  int64
	buf  bytes.Buffer
	over bool
}

func (t *tee) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	if !t.over && t.max > 0 {
		if int64(t.buf.Len()+n) > t.max {
			t.over = true
			t.buf = bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	return n, err
}

// exporting is a Recorder over a transport that can export.
type exporting struct {
	*Recorder
	exp transports.Exporter
}

// CanExport delegates to the inner transport.
func (e *exporting) CanExport(category string) bool { return e.exp.CanExport(category) }

// Export delegates to the inner transport and records the file.
func (e *exporting) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	return e.export(ctx, e.exp, req, w)
}

// clock is a Recorder over a transport with a virtual clock.
type clock struct {
	*Recorder
	vc transports.VirtualClock
}

// VirtualTime delegates to the inner transport.
func (c *clock) VirtualTime() bool { return c.vc.VirtualTime() }

// exportingClock is a Recorder over a transport that has both.
type exportingClock struct {
	exporting
	vc transports.VirtualClock
}

// VirtualTime delegates to the inner transport.
func (c *exportingClock) VirtualTime() bool { return c.vc.VirtualTime() }

var (
	_ transports.Exporter     = (*exporting)(nil)
	_ transports.VirtualClock = (*clock)(nil)
	_ transports.Exporter     = (*exportingClock)(nil)
	_ transports.VirtualClock = (*exportingClock)(nil)
)
