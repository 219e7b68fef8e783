package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// Status is how a run ended.
type Status string

// The run statuses.
const (
	StatusOK            Status = "ok"
	StatusFailed        Status = "failed"
	StatusTimeout       Status = "timeout"
	StatusInterrupted   Status = "interrupted"
	StatusConnectFailed Status = "connect-failed"
	StatusRefused       Status = "refused" // never started: nothing was sent
)

// The exit codes a run maps to (cmd/runbook documents them).
const (
	ExitOK          = 0
	ExitStepFailed  = 1
	ExitInvalid     = 2
	ExitDirty       = 3
	ExitConnect     = 4
	ExitInterrupted = 130
)

// ExitCode maps a status and whether cleanup is incomplete to the process
// exit code. An incomplete cleanup wins over everything.
func ExitCode(s Status, dirty bool) int {
	if dirty {
		return ExitDirty
	}
	switch s {
	case StatusOK:
		return ExitOK
	case StatusInterrupted:
		return ExitInterrupted
	case StatusConnectFailed:
		return ExitConnect
	case StatusRefused:
		return ExitInvalid
	}
	return ExitStepFailed
}

// Errors a run can end with, matched with errors.Is.
var (
	// ErrNeedsConfirmation: the playbook asks the operator something (a
	// prompt or its warnings) but there is no terminal and no --yes.
	ErrNeedsConfirmation = errors.New("this playbook needs an operator (prompts or warnings) but there is no terminal: run it with --yes to continue at every prompt")
	// ErrAborted: the operator typed abort or declined the warnings.
	ErrAborted = errors.New("aborted by the operator")
	// ErrRunTimeout: the overall --timeout passed.
	ErrRunTimeout = errors.New("run timed out")
)

// Prompter asks the operator to act, then press Enter (true) or type abort
// (false). A timeout of zero waits forever; when it passes, Ask returns
// ErrPromptTimeout.
type Prompter interface {
	Ask(ctx context.Context, message string, timeout time.Duration) (bool, error)
}

// ErrPromptTimeout is returned by a Prompter when nobody answered in time.
var ErrPromptTimeout = errors.New("no answer before the prompt's timeout")

// Options configure one run of one playbook against one target.
type Options struct {
	Playbook *playbook.Playbook
	// Source says where the playbook came from ("built-in phase2-down",
	// "file ./x.yaml").
	Source string
	// Params are the bound parameters (playbook.Bind); secret parameters
	// are secret.Ref values, resolved with Secrets before anything is sent.
	Params map[string]any
	// Target names the device and the transport used.
	Target    string
	Transport string
	// Cassette is the recording a replay target plays (journaled, so
	// `runbook cleanup` can reach the same target).
	Cassette string
	// Open opens (and, after a dropped connection, re-opens) the transport.
	Open func(ctx context.Context) (transports.Transport, error)
	// Secrets resolves secret parameters; its Redactor scrubs every byte
	// the run writes.
	Secrets *secret.Resolver
	// OutDir is where the run folder is created; Dir, if set, is the exact
	// run folder.
	OutDir string
	Dir    string
	// Yes continues at every prompt and accepts the warnings.
	Yes bool
	// Prompter asks the operator; nil means there is no terminal.
	Prompter Prompter
	// Out receives progress, one line per event (redacted).
	Out io.Writer
	// Live adds countdowns for waits (a terminal).
	Live bool
	// Timeout bounds the whole run (zero: none); StepTimeout is the default
	// per-command timeout (zero: the playbook's, else 60s); CleanupTimeout
	// bounds the cleanup phase (zero: 2m).
	Timeout        time.Duration
	StepTimeout    time.Duration
	CleanupTimeout time.Duration
	// MaxExportBytes bounds each exported file (zero: 4 GiB).
	MaxExportBytes int64
	// Now is the wall clock (tests); nil means time.Now.
	Now func() time.Time
}

// Result is how a run ended.
type Result struct {
	Dir      string
	Status   Status
	Err      error
	ExitCode int
	// Pending lists undo/cleanup commands that did not succeed.
	Pending  []string
	Manifest *Manifest
}

// Runner runs one playbook once. Pending may be called from another
// goroutine (a signal handler) while Run is running.
type Runner struct {
	o      Options
	redact func(string) string

	mu      sync.Mutex
	pending []undoEntry // armed undo entries not yet done, oldest first
	phase   string
	dir     string
}

// Dir is the run folder, once it exists.
func (r *Runner) Dir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dir
}

// New returns a Runner for o.
func New(o Options) *Runner {
	if o.Secrets == nil {
		o.Secrets = &secret.Resolver{}
	}
	if o.Secrets.Redactor == nil {
		o.Secrets.Redactor = &secret.Redactor{}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CleanupTimeout == 0 {
		o.CleanupTimeout = 2 * time.Minute
	}
	if o.MaxExportBytes == 0 {
		o.MaxExportBytes = 4 << 30
	}
	rd := o.Secrets.Redactor
	return &Runner{o: o, redact: rd.String}
}

// Pending returns the undo and cleanup commands still to run, in the order
// they will run.
func (r *Runner) Pending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for i := len(r.pending) - 1; i >= 0; i-- {
		out = append(out, r.pending[i].cmd)
	}
	return out
}

// Phase tells what the runner is doing: "steps", "cleanup" or "done".
func (r *Runner) Phase() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

func (r *Runner) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

type undoEntry struct {
	key string
	cmd string
}

// needsOperator reports whether the playbook would ask the operator.
func needsOperator(pb *playbook.Playbook) bool {
	if len(pb.Warnings) > 0 {
		return true
	}
	found := false
	playbook.Walk(pb.Steps, func(s *playbook.Step) {
		if s.Kind == playbook.KindPrompt {
			found = true
		}
	})
	return found
}

// Check reports, before anything is sent, whether the run can start.
func (r *Runner) Check() error {
	if !r.o.Yes && r.o.Prompter == nil && needsOperator(r.o.Playbook) {
		return ErrNeedsConfirmation
	}
	return nil
}

// run is the state of one run.
type run struct {
	*Runner
	pb     *playbook.Playbook
	dir    string
	j      *journal
	tr     transports.Transport
	clock  Clock
	params map[string]any
	vars   map[string]string
	steps  map[string]playbook.StepView
	target playbook.TargetView
	seq    int
	m      *Manifest
	armed  map[*playbook.Step]bool
	// connected is set once the transport opened; unreachable once
	// re-opening it for cleanup failed, so later entries fail fast.
	connected   bool
	unreachable error
	cleanup     []undoEntry // rendered cleanup: entries
}

// Run runs the playbook: steps, then the undo stack and cleanup on a fresh
// context, then the findings, and writes the run folder. It returns a
// Result whatever happened; Result.Err says why a run did not succeed.
func (r *Runner) Run(ctx context.Context) *Result {
	o := r.o
	pb := o.Playbook
	start := o.Now().UTC()
	m := &Manifest{
		Version:   ManifestVersion,
		Playbook:  ManifestPlaybook{Name: pb.Name, Title: pb.Title, Source: o.Source, SHA256: pb.SHA256},
		Params:    displayParams(pb, o.Params),
		Target:    ManifestTarget{Name: o.Target, Transport: o.Transport},
		Started:   start,
		Steps:     []StepRecord{},
		Undo:      []CleanupRecord{},
		Cleanup:   []CleanupRecord{},
		Findings:  []FindingRecord{},
		Artifacts: []ArtifactRecord{},
	}
	res := &Result{Manifest: m}
	finish := func(s Status, err error) *Result {
		res.Status, res.Err = s, err
		res.ExitCode = ExitCode(s, len(res.Pending) > 0)
		m.Status, m.ExitCode = string(s), res.ExitCode
		if err != nil {
			m.Error = r.redact(err.Error())
		}
		return res
	}
	if err := r.Check(); err != nil {
		return finish(StatusRefused, err)
	}

	ru := &run{Runner: r, pb: pb, vars: map[string]string{}, steps: map[string]playbook.StepView{}, m: m,
		armed: map[*playbook.Step]bool{}, clock: realClock{}}
	ru.target = playbook.TargetView{Name: o.Target, Transport: o.Transport}

	// Resolve secrets before anything is sent (a prompt reference asks now).
	params, err := r.resolveParams(ctx, pb, o.Params)
	if err != nil {
		return finish(StatusRefused, err)
	}
	ru.params = params
	for _, c := range captureNames(pb) {
		ru.vars[c] = ""
	}
	// Every step id exists from the start (ran false), also for steps in a
	// branch that never runs, so expressions can ask.
	playbook.Walk(pb.Steps, func(s *playbook.Step) {
		if s.ID != "" {
			ru.steps[s.ID] = playbook.StepView{}
		}
	})

	dir := o.Dir
	if dir == "" {
		var err error
		base := filepath.Join(o.OutDir, fmt.Sprintf("%s-%s-%s", start.Format("20060102T150405Z"), pb.Name, safeName(o.Target)))
		if dir, err = newRunDir(base); err != nil {
			return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
		}
	}
	res.Dir = dir
	for _, d := range []string{dir, filepath.Join(dir, "steps"), filepath.Join(dir, "artifacts")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
		}
	}
	ru.dir = dir
	r.mu.Lock()
	r.dir = dir
	r.mu.Unlock()
	j, err := openJournal(filepath.Join(dir, JournalFile), r.redact)
	if err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	ru.j = j
	defer j.Close()
	_ = j.Append(JournalEntry{Time: start, Event: evRunStart, Version: ManifestVersion, Playbook: pb.Name, Target: o.Target, Transport: o.Transport, Cassette: o.Cassette, PID: os.Getpid(), Params: stringParams(m.Params)})
	m.Status = "running"
	if err := ru.writeManifest(); err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	r.printf("runbook: %s (%s) against %s over %s\n", pb.Name, o.Source, o.Target, o.Transport)
	r.printf("runbook: run folder %s\n", dir)

	status, runErr := ru.main(ctx)

	// Cleanup always runs, on a fresh context with its own deadline.
	r.setPhase("cleanup")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	ru.runCleanup(cctx)
	cancel()
	if ru.tr != nil {
		_ = ru.tr.Close()
	}
	res.Pending = r.Pending()
	m.CleanupPending = res.Pending

	ru.evalFindings()
	m.DeviceClock = ru.deviceClock()
	m.Ended = ru.now()
	finish(status, runErr)
	_ = j.Append(JournalEntry{Time: m.Ended, Event: evRunEnd, Status: string(status), Error: m.Error})
	if err := ru.writeManifest(); err != nil {
		r.printf("runbook: writing manifest: %v\n", err)
	}
	// The manifest handed back is the redacted one, as written: nothing in
	// memory that callers may render holds a secret.
	if red, err := ReadManifest(dir); err == nil {
		res.Manifest = red
	}
	if err := ru.writeSummary(); err != nil {
		r.printf("runbook: writing summary: %v\n", err)
	}
	r.setPhase("done")
	ru.printEnd(res)
	return res
}

func (ru *run) now() time.Time { return ru.clock.Now().UTC() }

// newRunDir creates base, or base-2, base-3, ... when a run of the same
// playbook against the same target started in the same second: two runs
// never share a folder.
func newRunDir(base string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", err
	}
	dir := base
	for n := 2; ; n++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) || n > 1000 {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, n)
	}
}

// main runs everything up to (not including) cleanup.
func (ru *run) main(ctx context.Context) (Status, error) {
	o := ru.o
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.Timeout, ErrRunTimeout)
		defer cancel()
	}
	ru.setPhase("steps")
	for _, w := range ru.pb.Warnings {
		ru.printf("WARNING: %s\n", w)
	}
	if len(ru.pb.Warnings) > 0 {
		if o.Yes {
			ru.m.AutoConfirm = true
			_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evPrompt, Message: "warnings accepted with --yes", Status: "auto-continued"})
		} else {
			ok, err := o.Prompter.Ask(ctx, "Continue despite these warnings? Press Enter to continue, or type abort.", 0)
			if err != nil {
				return ru.classify(ctx, err)
			}
			if !ok {
				return StatusInterrupted, ErrAborted
			}
		}
	}
	tr, err := o.Open(ctx)
	if err != nil {
		var ce *transports.ConnError
		if errors.As(err, &ce) || ctx.Err() == nil {
			return StatusConnectFailed, err
		}
		return ru.classify(ctx, err)
	}
	ru.tr, ru.connected = tr, true
	if vc, ok := tr.(transports.VirtualClock); ok && vc.VirtualTime() {
		ru.clock = newVirtualClock(o.Now().UTC())
	}
	facts := tr.Facts()
	ru.m.Target.Facts = facts
	ru.target.Hostname, ru.target.Model = facts["hostname"], facts["model"]
	ru.target.Serial, ru.target.Version = facts["serial"], facts["sw_version"]
	ru.planCleanup()
	if err := ru.runSteps(ctx, ru.pb.Steps); err != nil {
		return ru.classify(ctx, err)
	}
	return StatusOK, nil
}

// classify maps the error that stopped the steps to a status.
func (ru *run) classify(ctx context.Context, err error) (Status, error) {
	switch {
	case errors.Is(err, ErrAborted):
		return StatusInterrupted, err
	case errors.Is(context.Cause(ctx), ErrRunTimeout):
		return StatusTimeout, context.Cause(ctx)
	case ctx.Err() != nil:
		return StatusInterrupted, context.Cause(ctx)
	}
	return StatusFailed, err
}

func (ru *run) env(out *playbook.RunView) map[string]any {
	return playbook.Env(ru.params, ru.vars, ru.steps, ru.target, out)
}

// runSteps runs steps in order; it returns the error that stops the run.
func (ru *run) runSteps(ctx context.Context, steps []*playbook.Step) error {
	for _, s := range steps {
		if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
			return err
		}
		if err := ru.runStep(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// stepError is a step that failed, with its position.
type stepError struct {
	step *playbook.Step
	err  error
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s:%d: step %s: %v", e.step.File, e.step.Line, stepLabel(e.step), e.err)
}
func (e *stepError) Unwrap() error { return e.err }

func stepLabel(s *playbook.Step) string {
	if s.ID != "" {
		return s.ID
	}
	if s.Run != nil {
		return fmt.Sprintf("%q", s.Run.Src)
	}
	return string(s.Kind)
}

func (ru *run) runStep(ctx context.Context, s *playbook.Step) error {
	if s.When != nil {
		ok, err := s.When.Bool(ru.env(nil))
		if err != nil {
			return ru.fail(s, fmt.Errorf("when: %w", err))
		}
		if !ok {
			ru.skip(s)
			return nil
		}
	}
	var err error
	switch s.Kind {
	case playbook.KindRun:
		err = ru.runCommand(ctx, s)
	case playbook.KindWait:
		err = ru.wait(ctx, s)
	case playbook.KindPrompt:
		err = ru.prompt(ctx, s)
	case playbook.KindNote:
		err = ru.note(s)
	case playbook.KindExport:
		err = ru.export(ctx, s)
	case playbook.KindIf:
		var ok bool
		ok, err = s.If.Bool(ru.env(nil))
		if err != nil {
			return ru.fail(s, fmt.Errorf("if: %w", err))
		}
		if ok {
			return ru.runSteps(ctx, s.Then)
		}
		return ru.runSteps(ctx, s.Else)
	default:
		err = fmt.Errorf("unknown step kind %q", s.Kind)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, ErrAborted) {
		return err
	}
	if s.OnError == playbook.OnErrorContinue {
		ru.printf("      continuing (on_error: continue)\n")
		return nil
	}
	return &stepError{step: s, err: err}
}

func (ru *run) fail(s *playbook.Step, err error) error {
	return &stepError{step: s, err: err}
}

func (ru *run) skip(s *playbook.Step) {
	if s.ID != "" {
		ru.steps[s.ID] = playbook.StepView{Skipped: true, Status: "skipped"}
	}
	now := ru.now()
	ru.m.Steps = append(ru.m.Steps, StepRecord{ID: s.ID, Kind: string(s.Kind), Line: s.Line, Command: srcOf(s), Start: now, End: now, Status: "skipped"})
	ru.printf("  -   %s (skipped)\n", describe(s))
}

func srcOf(s *playbook.Step) string {
	if s.Run != nil {
		return s.Run.Src
	}
	return ""
}

func describe(s *playbook.Step) string {
	if s.Name != "" {
		return s.Name
	}
	switch {
	case s.Run != nil:
		return s.Run.Src
	case s.Export != nil:
		return "export " + s.Export.Category
	case s.Message != nil:
		return string(s.Kind) + ": " + firstLine(s.Message.Src)
	}
	return string(s.Kind)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// runCommand runs a run step: repeat × until, captures, parse, undo.
func (ru *run) runCommand(ctx context.Context, s *playbook.Step) error {
	env := ru.env(nil)
	cli, err := s.Run.Render(env)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	cmd := transports.Command{CLI: cli, Timeout: ru.stepTimeout(s)}
	if s.XML != nil {
		if cmd.XML, err = s.XML.Render(env); err != nil {
			return fmt.Errorf("xml: %w", err)
		}
	}
	for _, a := range s.Prompts {
		ans, err := a.Answer.Render(env)
		if err != nil {
			return fmt.Errorf("prompts: %w", err)
		}
		cmd.Prompts = append(cmd.Prompts, transports.Prompt{Pattern: a.Match, Answer: ans, Secret: true})
	}
	var undo []string
	for _, u := range s.Undo {
		c, err := u.Render(env)
		if err != nil {
			return fmt.Errorf("undo: %w", err)
		}
		undo = append(undo, c)
	}
	count, interval := 1, time.Duration(0)
	if s.Repeat != nil {
		if count, err = s.Repeat.Count.Eval(env); err != nil {
			return fmt.Errorf("repeat.count: %w", err)
		}
		if count < 1 {
			return fmt.Errorf("repeat.count is %d, must be at least 1", count)
		}
		if s.Repeat.Interval != nil {
			if interval, err = s.Repeat.Interval.Eval(env); err != nil {
				return fmt.Errorf("repeat.interval: %w", err)
			}
		}
	}
	attempts := 1
	if s.Until != nil {
		attempts = s.Retry.Max
	}
	for i := 1; i <= count; i++ {
		if i > 1 {
			if err := ru.sleep(ctx, interval, fmt.Sprintf("next run of %s (%d/%d)", describe(s), i, count)); err != nil {
				return err
			}
		}
		for a := 1; ; a++ {
			out, err := ru.send(ctx, s, cmd, undo, i, count)
			if err != nil {
				return err
			}
			if s.Until == nil {
				break
			}
			ok, err := s.Until.Bool(ru.env(&out))
			if err != nil {
				return fmt.Errorf("until: %w", err)
			}
			if ok {
				break
			}
			if a >= attempts {
				return fmt.Errorf("until %s: still false after %d attempts", s.Until.Src, attempts)
			}
			if err := ru.sleep(ctx, s.Retry.Interval, fmt.Sprintf("retry %d/%d of %s", a+1, attempts, describe(s))); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ru *run) stepTimeout(s *playbook.Step) time.Duration {
	switch {
	case s.Timeout > 0:
		return s.Timeout
	case ru.o.StepTimeout > 0:
		return ru.o.StepTimeout
	case ru.pb.Timeout > 0:
		return ru.pb.Timeout
	}
	return 60 * time.Second
}

// send sends one command and records everything about it.
func (ru *run) send(ctx context.Context, s *playbook.Step, cmd transports.Command, undo []string, i, count int) (playbook.RunView, error) {
	ru.seq++
	seq := ru.seq
	if len(undo) > 0 && !ru.armed[s] {
		// Journaled (fsynced) before the command is sent: a crash after
		// sending still leaves the undo on record.
		if err := ru.j.Append(JournalEntry{Time: ru.now(), Event: evUndoIntent, Seq: seq, Step: s.ID, Command: cmd.CLI, Undo: undo}); err != nil {
			return playbook.RunView{}, err
		}
	}
	label := cmd.CLI
	if count > 1 {
		label = fmt.Sprintf("%s  (%d/%d)", cmd.CLI, i, count)
	}
	ru.printf("[%3d] %s\n", seq, label)
	start := ru.now()
	_ = ru.j.Append(JournalEntry{Time: start, Event: evStepStart, Seq: seq, Step: s.ID, Command: cmd.CLI})
	cctx, cancel := context.WithTimeout(ctx, cmd.Timeout)
	res, err := ru.tr.Run(cctx, cmd)
	cancel()
	if len(undo) > 0 && !ru.armed[s] {
		ru.armed[s] = true
		ru.mu.Lock()
		// The stack runs newest first; a step's own undo list runs in the
		// order written.
		for k := len(undo) - 1; k >= 0; k-- {
			ru.pending = append(ru.pending, undoEntry{key: undoKey(seq, k), cmd: undo[k]})
		}
		ru.mu.Unlock()
		_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evUndoArmed, Seq: seq, Step: s.ID, Undo: undo})
	}
	end := ru.now()
	rec := StepRecord{Seq: seq, ID: s.ID, Kind: string(s.Kind), Line: s.Line, Command: cmd.CLI, Start: start, End: end, Status: "ok"}
	if count > 1 {
		rec.Run = i
	}
	if err != nil {
		rec.Status = "failed"
		switch {
		case ctx.Err() != nil:
			rec.Status = "interrupted"
		case errors.Is(err, transports.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			rec.Status = "timeout"
			err = fmt.Errorf("%w after %s", transports.ErrTimeout, cmd.Timeout)
		}
		rec.Error = ru.redact(err.Error())
	}
	text := res.Text
	if err != nil && text == "" {
		text = "# " + rec.Status + ": " + err.Error() + "\n"
	}
	name := fmt.Sprintf("steps/%03d-%s.txt", seq, fileLabel(s, cmd.CLI))
	sum, werr := ru.writeOutput(name, text)
	if werr != nil {
		ru.printf("      could not write %s: %v\n", name, werr)
	} else {
		rec.Output, rec.SHA256 = name, sum
	}
	out := playbook.RunView{Text: res.Text, Data: res.Data, Time: end}
	if err == nil && s.Parse != "" {
		f, perr := parse.Parse(s.Parse, res.Text, res.Data)
		if perr != nil {
			rec.Note = "parse " + s.Parse + ": " + perr.Error()
		}
		out.Fields = f
	}
	ru.m.Steps = append(ru.m.Steps, rec)
	_ = ru.j.Append(JournalEntry{Time: end, Event: evStepEnd, Seq: seq, Step: s.ID, Status: rec.Status, Error: rec.Error})
	if err != nil {
		ru.printf("      %s: %s\n", rec.Status, rec.Error)
	} else {
		ru.printf("      ok (%s) -> %s\n", end.Sub(start).Round(time.Millisecond), name)
	}
	ru.record(s, out, rec.Status, rec.Error)
	if err != nil {
		return out, err
	}
	ru.satisfyUndo(cmd.CLI)
	if err := ru.capture(s, out); err != nil {
		return out, err
	}
	return out, nil
}

// satisfyUndo takes off the stack the pending undo entries that a command
// the playbook just ran successfully already did (a procedure that switches
// debug off itself, before exporting the capture): they are not sent again.
func (ru *run) satisfyUndo(cli string) {
	ru.mu.Lock()
	var done []undoEntry
	kept := ru.pending[:0]
	for _, p := range ru.pending {
		if p.cmd == cli {
			done = append(done, p)
			continue
		}
		kept = append(kept, p)
	}
	ru.pending = kept
	ru.mu.Unlock()
	for _, p := range done {
		_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: p.key, Command: p.cmd, Status: "ok", Message: "done by the playbook"})
		ru.m.Undo = append(ru.m.Undo, CleanupRecord{Command: p.cmd, Status: "ok", Time: ru.now(), Note: "done by the playbook's own step"})
	}
}

// record updates steps.<id> with one more run.
func (ru *run) record(s *playbook.Step, out playbook.RunView, status, errText string) {
	if s.ID == "" {
		return
	}
	v := ru.steps[s.ID]
	v.Ran, v.Skipped = true, false
	v.Status, v.OK, v.Error = status, status == "ok", errText
	v.Text, v.Data, v.Fields = out.Text, out.Data, out.Fields
	v.Runs = append(v.Runs, out)
	ru.steps[s.ID] = v
}

func (ru *run) capture(s *playbook.Step, out playbook.RunView) error {
	for _, c := range s.Captures {
		var val string
		if c.Regex != nil {
			m := c.Regex.FindStringSubmatch(out.Text)
			switch {
			case m == nil:
				continue
			case len(m) > 1:
				val = m[1]
			default:
				val = m[0]
			}
		} else {
			v, err := c.Expr.Eval(ru.env(&out))
			if err != nil {
				return fmt.Errorf("capture %s: %w", c.Name, err)
			}
			if v == nil {
				continue
			}
			val = fmt.Sprint(v)
		}
		ru.vars[c.Name] = val
		if val != "" {
			ru.printf("      captured %s = %s\n", c.Name, ru.redact(val))
		}
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

func safeName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-.")
	if s == "" {
		return "x"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

func fileLabel(s *playbook.Step, cli string) string {
	if s.ID != "" {
		return safeName(s.ID)
	}
	f := strings.Fields(cli)
	if len(f) > 5 {
		f = f[:5]
	}
	return safeName(strings.Join(f, "-"))
}

// writeOutput writes a redacted output file and returns its sha256.
func (ru *run) writeOutput(rel, text string) (string, error) {
	b := []byte(ru.redact(text))
	if err := os.WriteFile(filepath.Join(ru.dir, rel), b, 0o644); err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

func (ru *run) sleep(ctx context.Context, d time.Duration, why string) error {
	if d <= 0 {
		return nil
	}
	ru.printf("      waiting %s: %s\n", d, why)
	if _, virtual := ru.clock.(*virtualClock); ru.o.Live && !virtual {
		return ru.countdown(ctx, d)
	}
	return ru.clock.Sleep(ctx, d)
}

// countdown sleeps d on the real clock, redrawing the time left each second.
func (ru *run) countdown(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		left := time.Until(end)
		if left <= 0 {
			ru.printf("\r\033[K")
			return nil
		}
		ru.printf("\r\033[K      %s left", left.Round(time.Second))
		select {
		case <-ctx.Done():
			ru.printf("\r\033[K")
			return context.Cause(ctx)
		case <-t.C:
		case <-time.After(left):
		}
	}
}

func (ru *run) wait(ctx context.Context, s *playbook.Step) error {
	d, err := s.Wait.Eval(ru.env(nil))
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	msg := ""
	if s.Message != nil {
		if msg, err = s.Message.Render(ru.env(nil)); err != nil {
			return err
		}
	}
	start := ru.now()
	err = ru.sleep(ctx, d, msg)
	ru.m.Steps = append(ru.m.Steps, StepRecord{ID: s.ID, Kind: "wait", Line: s.Line, Start: start, End: ru.now(), Status: statusOf(err), Note: fmt.Sprintf("wait %s %s", d, msg)})
	return err
}

func statusOf(err error) string {
	if err != nil {
		return "interrupted"
	}
	return "ok"
}

func (ru *run) prompt(ctx context.Context, s *playbook.Step) error {
	msg, err := s.Message.Render(ru.env(nil))
	if err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	start := ru.now()
	rec := StepRecord{ID: s.ID, Kind: "prompt", Line: s.Line, Start: start, Note: msg}
	ru.printf(">>> %s\n", msg)
	if ru.o.Yes {
		ru.printf("    (continuing: --yes)\n")
		rec.Status = "auto-continued"
		_ = ru.j.Append(JournalEntry{Time: start, Event: evPrompt, Step: s.ID, Message: msg, Status: "auto-continued"})
	} else {
		ok, err := ru.o.Prompter.Ask(ctx, msg, s.PromptTimeout)
		switch {
		case errors.Is(err, ErrPromptTimeout) && s.Default == "continue":
			ok, err = true, nil
			rec.Status = "timed-out-continued"
		case errors.Is(err, ErrPromptTimeout):
			ok, err = false, nil
		case err != nil:
			return err
		}
		if !ok {
			rec.Status, rec.End = "aborted", ru.now()
			ru.m.Steps = append(ru.m.Steps, rec)
			_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evPrompt, Step: s.ID, Message: msg, Status: "aborted"})
			return ErrAborted
		}
		if rec.Status == "" {
			rec.Status = "continued"
		}
		_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evPrompt, Step: s.ID, Message: msg, Status: rec.Status})
	}
	rec.End = ru.now()
	ru.m.Steps = append(ru.m.Steps, rec)
	return nil
}

func (ru *run) note(s *playbook.Step) error {
	msg, err := s.Message.Render(ru.env(nil))
	if err != nil {
		return fmt.Errorf("note: %w", err)
	}
	ru.addNote(msg)
	now := ru.now()
	ru.m.Steps = append(ru.m.Steps, StepRecord{ID: s.ID, Kind: "note", Line: s.Line, Start: now, End: now, Status: "ok", Note: msg})
	return nil
}

func (ru *run) addNote(msg string) {
	msg = ru.redact(msg)
	ru.m.Notes = append(ru.m.Notes, msg)
	ru.printf("NOTE: %s\n", msg)
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evNote, Message: msg})
}

func (ru *run) printf(format string, a ...any) {
	fmt.Fprint(ru.o.Out, ru.redact(fmt.Sprintf(format, a...)))
}

func (r *Runner) printf(format string, a ...any) {
	fmt.Fprint(r.o.Out, r.redact(fmt.Sprintf(format, a...)))
}
