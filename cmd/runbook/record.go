package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/record"
	"github.com/runbook-dev/runbook/transports/replay"
)

// recording is a `run --record FILE` in progress: every session the run
// opens (a reconnect opens another) is recorded into the one cassette,
// redacted with the run's secrets and the --redact patterns. A nil
// *recording records nothing, so the run command calls it unconditionally.
type recording struct {
	path string
	w    *replay.Writer
	red  *replay.Redaction

	mu     sync.Mutex
	runner *engine.Runner
	recs   []transports.Transport // the record wrappers, first session first
}

// parseRedactFlags reads --redact NAME=REGEX flags.
func parseRedactFlags(flags []string) ([]replay.Pattern, error) {
	var ps []replay.Pattern
	for _, f := range flags {
		name, expr, ok := strings.Cut(f, "=")
		if !ok || name == "" || expr == "" {
			return nil, fmt.Errorf("run: --redact %q: want NAME=REGEX, e.g. IP='\\b\\d+\\.\\d+\\.\\d+\\.\\d+\\b'", f)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("run: --redact %s: %w", name, err)
		}
		ps = append(ps, replay.Pattern{Name: name, Regexp: re})
	}
	return ps, nil
}

// startRecording creates the cassette for opts.Record (nil, nil when the
// run does not record). Its header names the playbook, the params as
// given (a secret param only as its reference: Bind refuses anything
// else) and the target; record.New adds the facts, and redacts params and
// facts, when the first session opens.
func startRecording(opts *runOptions, pb *playbook.Playbook, t target, given map[string]string, redactor *secret.Redactor) (*recording, error) {
	if opts.Record == "" {
		if len(opts.Redact) > 0 {
			return nil, usageError{errors.New("run: --redact applies to a recording: give --record FILE too")}
		}
		return nil, nil
	}
	patterns, err := parseRedactFlags(opts.Redact)
	if err != nil {
		return nil, usageError{err}
	}
	red, err := replay.NewRedaction(redactor, patterns...)
	if err != nil {
		return nil, usageError{fmt.Errorf("run: --redact: %w", err)}
	}
	params := map[string]string{}
	for k, v := range t.params {
		if pb.Param(k) != nil {
			params[k] = v
		}
	}
	maps.Copy(params, given)
	h := replay.Header{
		Playbook: pb.Name,
		Params:   params,
		Target:   replay.Target{Name: t.t.Name, Transport: t.t.Transport},
	}
	// testdata/NAME/ may not exist yet for a playbook's first case.
	if err := os.MkdirAll(filepath.Dir(opts.Record), 0o755); err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("run: --record: %w", err)}
	}
	w, err := replay.Create(opts.Record, h)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("run: --record: %w", err)}
	}
	return &recording{path: opts.Record, w: w, red: red}, nil
}

// discard removes a recording that never started (the run was refused
// before anything was sent).
func (rc *recording) discard() {
	if rc == nil {
		return
	}
	_ = rc.w.Close()
	_ = os.Remove(rc.path)
}

// open wraps a run's Open so that every session it opens is recorded.
func (rc *recording) open(open func(context.Context) (transports.Transport, error)) func(context.Context) (transports.Transport, error) {
	if rc == nil {
		return open
	}
	return func(ctx context.Context) (transports.Transport, error) {
		tr, err := open(ctx)
		if err != nil {
			return nil, err
		}
		rt := record.New(tr, rc.w, record.Options{Redaction: rc.red, ExportPath: rc.exportPath})
		rc.mu.Lock()
		rc.recs = append(rc.recs, rt)
		rc.mu.Unlock()
		return rt, nil
	}
}

// attach tells the recording the run it records, for the run folder an
// exported file is kept in.
func (rc *recording) attach(r *engine.Runner) {
	if rc == nil {
		return
	}
	rc.mu.Lock()
	rc.runner = r
	rc.mu.Unlock()
}

// exportPath locates an exported file that is too large (or too secret) to
// store inline: the copy in the run folder's artifacts/, relative to the
// cassette's directory.
func (rc *recording) exportPath(_ transports.ExportRequest, info transports.ExportInfo) string {
	rc.mu.Lock()
	r := rc.runner
	rc.mu.Unlock()
	if r == nil || r.Dir() == "" {
		return ""
	}
	file, err := filepath.Abs(filepath.Join(r.Dir(), "artifacts", filepath.Base(info.Name)))
	if err != nil {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(rc.path))
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, file)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// finish closes the cassette and says where it is, or what went wrong
// writing it. A recording error never changes the run's exit code: the
// device saw exactly what it would have without --record.
func (rc *recording) finish(w io.Writer) error {
	if rc == nil {
		return nil
	}
	var errs []error
	rc.mu.Lock()
	for i, rt := range rc.recs {
		e, ok := rt.(interface{ Err() error })
		if !ok {
			continue
		}
		// A re-opened session finds the header already written: expected.
		if err := e.Err(); err != nil && !(i > 0 && errors.Is(err, replay.ErrHeaderWritten)) {
			errs = append(errs, err)
		}
	}
	rc.mu.Unlock()
	errs = append(errs, rc.w.Close())
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(w, "runbook: recording %s is incomplete: %v\n", rc.path, err)
		return err
	}
	fmt.Fprintf(w, "runbook: recorded %s\n", rc.path)
	return nil
}
