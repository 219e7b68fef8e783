package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
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
	// StatusIncomplete: every step ran and cleanup ran, but steps that let
	// the run go on failed (Manifest.Missing): evidence is missing.
	StatusIncomplete Status = "incomplete"
)

// The exit codes a run maps to (cmd/runbook documents them).
const (
	ExitOK          = 0
	ExitStepFailed  = 1
	ExitInvalid     = 2
	ExitDirty       = 3
	ExitConnect     = 4
	ExitFinding     = 5 // every step ran, cleanup done, a finding at --fail-on or worse fired
	ExitInterrupted = 130
)

// outcomes is the one table from a run's status to its exit code and the
// words the terminal, summary.md and report.html print for it: words when
// no finding fired, found (followed by the count, "done, 1 critical
// finding") when one did. An incomplete cleanup (exit 3) wins over every
// status and has its own words (Outcome): exit 3 is never "ok". A finding
// at or above Options.FailOn turns the exit 0 of an ok run into
// ExitFinding (5); it never changes any other code.
var outcomes = map[Status]struct {
	exit         int
	words, found string
}{
	StatusOK:            {ExitOK, "ok", "done"},
	StatusIncomplete:    {ExitStepFailed, "done", "done"},
	StatusFailed:        {ExitStepFailed, "failed", "failed"},
	StatusTimeout:       {ExitStepFailed, "timed out", "timed out"},
	StatusInterrupted:   {ExitInterrupted, "interrupted", "interrupted"},
	StatusConnectFailed: {ExitConnect, "could not connect", "could not connect"},
	StatusRefused:       {ExitInvalid, "refused, nothing was sent", "refused, nothing was sent"},
}

// dirtyWords are the words of exit 3.
const dirtyWords = "CLEANUP INCOMPLETE, the device may still be in debug"

// exitPrecedence orders the exit codes from best to worst: the exit code
// of several targets is the worst of theirs (WorseExit). 3 > 130 > 4 > 1 >
// 2 > 5 > 0: a finding (5) is the mildest failure because it means the
// procedure ran to the end and found what it was asked to fail on.
var exitPrecedence = []int{ExitOK, ExitFinding, ExitInvalid, ExitStepFailed, ExitConnect, ExitInterrupted, ExitDirty}

// WorseExit returns the worse of two exit codes (exitPrecedence); an
// unknown code counts as worse than a step failure.
func WorseExit(a, b int) int {
	if rankExit(b) > rankExit(a) {
		return b
	}
	return a
}

func rankExit(c int) int {
	for i, e := range exitPrecedence {
		if e == c {
			return i
		}
	}
	return slices.Index(exitPrecedence, ExitStepFailed)
}

// ExitCode maps a status, whether cleanup is incomplete and whether a
// finding at --fail-on or worse fired (FailsOn) to the process exit code.
// An incomplete cleanup wins over everything; a finding only turns an ok
// run's 0 into ExitFinding.
func ExitCode(s Status, dirty, findingFails bool) int {
	if dirty {
		return ExitDirty
	}
	o, ok := outcomes[s]
	if !ok {
		return ExitStepFailed
	}
	if o.exit == ExitOK && findingFails {
		return ExitFinding
	}
	return o.exit
}

// FailsOn reports whether a finding of severity failOn or worse is among
// findings. An empty failOn never fails.
func FailsOn(findings []FindingRecord, failOn playbook.Severity) bool {
	if failOn == "" {
		return false
	}
	limit := sevRank(string(failOn))
	for _, f := range findings {
		if sevRank(f.Severity) <= limit {
			return true
		}
	}
	return false
}

// sevRank ranks a severity, most severe lowest (severityRank); an unknown
// one ranks below info.
func sevRank(s string) int {
	if r, ok := severityRank[playbook.Severity(s)]; ok {
		return r
	}
	return len(severityRank)
}

// Outcome is what a run with status s that exited with code exit, whose
// findings fired and that lists missing evidence from missing steps
// (Manifest.Missing) is called, everywhere it is printed: "ok", "failed",
// "done, 1 critical finding", "done, 2 steps failed" (status incomplete),
// "done, 1 step failed, 1 critical finding", ..., and for exit 3 "CLEANUP
// INCOMPLETE, the device may still be in debug (steps: ok)". The count of
// failed steps is said only of an incomplete run: a run stopped by a step
// is "failed" (its list still says what is missing).
func Outcome(s string, exit int, findings []FindingRecord, missing int) string {
	words := s
	if o, ok := outcomes[Status(s)]; ok {
		words = o.words
		if Status(s) == StatusIncomplete && missing > 0 {
			words += ", " + StepsFailed(missing)
		}
		if n := countFindings(findings); n != "" {
			words = o.found + strings.TrimPrefix(words, o.words) + ", " + n
		}
	}
	if exit == ExitDirty {
		return dirtyWords + " (steps: " + words + ")"
	}
	return words
}

// countFindings says how many findings fired, by severity, most severe
// first: "1 critical finding", "1 critical and 2 warning findings",
// "2 critical, 1 warning and 1 info findings"; "" for none.
func countFindings(findings []FindingRecord) string {
	counts := map[string]int{}
	var order []string
	for _, f := range findings {
		if counts[f.Severity] == 0 {
			order = append(order, f.Severity)
		}
		counts[f.Severity]++
	}
	if len(findings) == 0 {
		return ""
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return sevRank(a) - sevRank(b)
	})
	parts := make([]string, len(order))
	for i, sev := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[sev], sev)
	}
	list := parts[len(parts)-1]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + list
	}
	if len(findings) == 1 {
		return list + " finding"
	}
	return list + " findings"
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
	// ErrNoFolder: Options.Folder is nil, so the run could keep no record.
	ErrNoFolder = errors.New("engine: no run folder (Options.Folder is nil)")
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
	// SessionLog is the path of the session log the transport writes
	// (run --session-log), recorded in the manifest; empty means none.
	SessionLog string
	// Open opens (and, after a dropped connection, re-opens) the transport.
	Open func(ctx context.Context) (transports.Transport, error)
	// Secrets resolves secret parameters; its Redactor scrubs every byte
	// the run writes.
	Secrets *secret.Resolver
	// OutDir is where the run folder is created; Dir, if set, is the exact
	// run folder. Both are handed to Folder.
	OutDir string
	Dir    string
	// Folder creates the run folder and writes its files (package
	// runfolder: runfolder.Create); the engine knows the folder only
	// through it. Required: without it a run is refused (ErrNoFolder).
	Folder func(FolderSpec) (Folder, error)
	// Yes continues at every prompt and accepts the warnings.
	Yes bool
	// Prompter asks the operator; nil means there is no terminal.
	Prompter Prompter
	// Observer receives the run's events, in order (events.go); nil
	// means none. The engine prints nothing itself.
	Observer Observer
	// FailOn makes an ok run exit ExitFinding (5) when a finding of this
	// severity or worse fired (--fail-on); empty: findings never change
	// the exit code.
	FailOn playbook.Severity
	// Timeout bounds the whole run (zero: none); StepTimeout is the default
	// per-command timeout (zero: the playbook's, else 60s); CleanupTimeout
	// bounds the cleanup phase (zero: 2m).
	Timeout        time.Duration
	StepTimeout    time.Duration
	CleanupTimeout time.Duration
	// MaxExportBytes bounds each exported file (zero: 4 GiB).
	MaxExportBytes int64
	// ScpAcceptNewHostKey lets `scp export` answer "yes" when the device
	// asks whether to trust a remote host key it has not seen; false
	// answers "no" and that export fails with a note naming this option.
	ScpAcceptNewHostKey bool
	// Now is the wall clock (tests); nil means time.Now.
	Now func() time.Time
	// Sync, set for each end of a case run at once (fleet.Sync), makes
	// the ends meet before each run of a repeated step and each wait, so
	// they start together, and asks each prompt once for the case
	// (sync.go); nil: the run meets nobody, as a single target.
	Sync Sync
}

// Result is how a run ended.
type Result struct {
	Dir      string
	Status   Status
	Err      error
	ExitCode int
	// Pending lists undo/cleanup commands that did not succeed.
	Pending []string
	// Manifest is the run's manifest.json as written, without its steps
	// (Steps is nil once the folder is written: they stay on disk, read
	// them with runfolder.Scan(Dir, ...)), so a run's result holds nothing
	// per step.
	Manifest *Manifest
	// End is what the run's findings saw once it ended, for the findings
	// of a case (EvalCase); nil when nothing was sent.
	End *EndState
}

// Runner runs one playbook once. Pending may be called from another
// goroutine (a signal handler) while Run is running.
type Runner struct {
	o      Options
	redact func(string) string

	// ledger owns the undo and cleanup entries not yet done (ledger.go);
	// cleanup: entries are in it from the moment the transport opened.
	ledger *Ledger
	// em delivers the run's events to Options.Observer.
	em *emitter

	mu    sync.Mutex
	phase string
	dir   string
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
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CleanupTimeout == 0 {
		o.CleanupTimeout = DefaultCleanupTimeout
	}
	if o.MaxExportBytes == 0 {
		o.MaxExportBytes = 4 << 30
	}
	rd := o.Secrets.Redactor
	r := &Runner{o: o, redact: rd.String, ledger: newLedger()}
	r.em = &emitter{obs: o.Observer, target: o.Target, now: o.Now, redact: rd.String}
	return r
}

// Pending returns the undo and cleanup commands still to run, in the order
// they will run.
// (an entry of several forms as "form1 | form2").
func (r *Runner) Pending() []string { return r.ledger.Shown() }

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

// undoEntry is one undo entry of a step as rendered, each of its forms:
// cmd is sent, shown is written down (see render).
type undoEntry struct {
	cmd   []string
	shown []string
}

// needsOperator reports whether the playbook would ask the operator.
func needsOperator(pb *playbook.Playbook) bool {
	if len(pb.Warnings) > 0 {
		return true
	}
	return pb.HasPrompt()
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
	folder Folder
	j      *journal
	tr     transports.Transport
	clock  Clock
	params map[string]any
	vars   map[string]string
	// steps holds steps.<id> as expressions read it (each a
	// playbook.StepView; view reads one), so an environment is built
	// without copying every step; only for the steps the run keeps
	// (keeps).
	steps  map[string]any
	target playbook.TargetView
	seq    int
	m      *Manifest
	// firstCmd is the command each step (and item) that may run again
	// ran first, for the kind of its series; clock the first successful `show clock` output.
	// Step records themselves are in the folder, not in memory.
	firstCmd map[stepItem]string
	// outputs are the output files, in the run folder, of each step (and
	// item) a finding names as evidence without a field (wholeOutput): the
	// finding rests on their text, so its evidence names them.
	outputs map[stepItem][]string
	clock0  *string
	armed   map[*playbook.Step]bool
	// connected is set once the transport opened; unreachable once
	// re-opening it for cleanup failed, so later entries fail fast.
	connected   bool
	unreachable error
	// item is the current item of a for_each step (foreach.go), nil
	// outside one.
	item *string
	// lets are the values of the current step's lets (Step.Env), set
	// when the step is reached, before its when, for every expression
	// and template of the step; nil outside a step with lets.
	lets map[string]any
	// letsShown are those values as the step's records hold them
	// (shownLets): redacted, bounded; nil when lets is.
	letsShown []LetValue
	// exportFailed are the export steps that failed and let the run go on
	// (their default): the run ends failed once every step ran.
	exportFailed []error
	// last is what the current step sent last, for its missing evidence
	// (missing.go).
	last lastSent
	// w and wrec are what recordStep hands the folder, reused.
	w    FolderWrite
	wrec StepRecord
}

// Run runs the playbook: steps, then the undo stack and cleanup on a fresh
// context, then the findings, and writes the run folder. It returns a
// Result whatever happened; Result.Err says why a run did not succeed.
func (r *Runner) Run(ctx context.Context) *Result {
	o := r.o
	pb := o.Playbook
	start := o.Now().UTC()
	m := &Manifest{
		Version:    ManifestVersion,
		Playbook:   ManifestPlaybook{Name: pb.Name, Title: pb.Title, Source: o.Source, SHA256: pb.SHA256},
		Params:     displayParams(o.Params),
		FailOn:     string(o.FailOn),
		Target:     ManifestTarget{Name: o.Target, Transport: o.Transport},
		SessionLog: o.SessionLog,
		Started:    start,
		Steps:      []StepRecord{},
		Undo:       []CleanupRecord{},
		Cleanup:    []CleanupRecord{},
		Findings:   []FindingRecord{},
		Artifacts:  []ArtifactRecord{},
	}
	res := &Result{Manifest: m}
	finish := func(s Status, err error) *Result {
		res.Status, res.Err = s, err
		res.ExitCode = ExitCode(s, len(res.Pending) > 0, FailsOn(m.Findings, o.FailOn))
		m.Status, m.ExitCode = string(s), res.ExitCode
		if err != nil {
			m.Error = r.redact(err.Error())
		}
		return res
	}
	if o.Sync != nil {
		// The other ends of a case never wait for a run that ended
		// before its steps (refused, no run folder); Leave is idempotent.
		defer o.Sync.Leave(StatusRefused)
	}
	if err := r.Check(); err != nil {
		return finish(StatusRefused, err)
	}

	ru := &run{Runner: r, pb: pb, vars: map[string]string{}, steps: map[string]any{}, m: m,
		armed: map[*playbook.Step]bool{}, clock: realClock{}, firstCmd: map[stepItem]string{}, outputs: wholeOutput(pb)}
	ru.target = playbook.TargetView{Name: o.Target, Transport: o.Transport}

	// Resolve secrets before anything is sent (a prompt reference asks now).
	params, err := r.resolveParams(ctx, pb, o.Params)
	if err != nil {
		return finish(StatusRefused, err)
	}
	ru.params = params
	for _, c := range pb.CaptureNames() {
		ru.vars[c] = ""
	}
	// Every step id read exists from the start (ran false), also for
	// steps in a branch that never runs, so expressions can ask: those
	// the run keeps (keeps), known before the steps are read.
	for _, k := range pb.KeptSteps() {
		ru.steps[k.ID] = notRun
	}

	if o.Folder == nil {
		return finish(StatusRefused, ErrNoFolder)
	}
	folder, err := o.Folder(FolderSpec{OutDir: o.OutDir, Dir: o.Dir, Start: start, Playbook: pb.Name, Target: o.Target})
	if err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	dir := folder.Dir()
	res.Dir = dir
	ru.folder = folder
	// The folder gets every event first (folder.go); it holds the run's
	// files: let it go once Run returns, not with the Runner.
	r.em.folder = folder
	defer func() { r.em.folder = nil }()
	ru.dir = dir
	r.mu.Lock()
	r.dir = dir
	r.mu.Unlock()
	j, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	ru.j = j
	defer j.Close()
	// Durable before anything is sent: without it `runbook cleanup` could
	// not find the target.
	if err := j.Append(JournalEntry{Time: start, Event: evRunStart, Version: ManifestVersion, Playbook: pb.Name, Target: o.Target, Transport: o.Transport, Cassette: o.Cassette, PID: os.Getpid(), Params: stringParams(m.Params)}); err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	r.em.now = func() time.Time {
		if ru.connected {
			return ru.now()
		}
		return o.Now()
	}
	// That clock holds the run (its steps, its transport): let the run go
	// once Run returns, not with the Runner, which a caller may keep.
	defer func() { r.em.now = o.Now }()
	// The folder writes the manifest so far as it records run-started:
	// without it, the run does not start.
	m.Status = "running"
	started, err := r.em.record(Event{Type: EvRunStarted, Time: start, Playbook: pb.Name, Source: o.Source, Transport: o.Transport, Dir: dir,
		Write: &FolderWrite{Manifest: m}})
	if err != nil {
		return finish(StatusRefused, fmt.Errorf("run folder: %w", err))
	}
	r.em.publish(started)

	status, runErr := ru.mainRecovered(ctx)
	ru.leave(status)

	// Cleanup always runs, on a fresh context with its own deadline.
	r.setPhase("cleanup")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	ru.runCleanup(cctx)
	cancel()
	if ru.tr != nil {
		_ = ru.tr.Close()
	}
	if !ru.connected {
		// Nothing was sent: the run keeps no folder and evaluates no
		// finding (docs/run-folder.md). The error says what went wrong.
		j.Close()
		_ = folder.Discard()
		res.Dir = ""
		finish(status, runErr)
		r.setPhase("done")
		r.em.emit(endEvent(res, ""))
		return res
	}
	res.Pending = r.Pending()
	m.CleanupPending = res.Pending

	ru.evalFindings()
	res.End = &EndState{Params: ru.params, Vars: ru.vars, Steps: ru.readSteps(), Target: ru.target, Redact: r.redact, Outputs: ru.outputsOf}
	m.DeviceClock = ru.deviceClock()
	m.Ended = ru.now()
	finish(status, runErr)
	if err := j.Append(JournalEntry{Time: m.Ended, Event: evRunEnd, Status: string(status), Error: m.Error}); err != nil {
		ru.problem("run", err)
	}
	r.setPhase("done")
	ru.printEnd(res)
	return res
}

func (ru *run) now() time.Time { return ru.clock.Now().UTC() }

// mainRecovered is main, with a panic (a bug in a parser, a transport or
// the engine) turned into a failed run: cleanup still runs after it.
func (ru *run) mainRecovered(ctx context.Context) (status Status, err error) {
	defer func() {
		if p := recover(); p != nil {
			msg := ru.redact(fmt.Sprint(p))
			ru.em.emit(Event{Type: EvProblem, Scope: "run", Message: "internal error: " + msg + "\n" + strings.TrimSuffix(ru.redact(string(debug.Stack())), "\n")})
			status, err = StatusFailed, fmt.Errorf("internal error (a bug: please report it): %s", msg)
		}
	}()
	return ru.main(ctx)
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
		ru.em.emit(Event{Type: EvWarning, Message: w})
	}
	if len(ru.pb.Warnings) > 0 {
		if o.Yes {
			ru.m.AutoConfirm = true
			_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evPrompt, Message: "warnings accepted with --yes", Status: "auto-continued"}) // not durable: about the operator, not the device
		} else {
			ok, _, err := ru.ask(ctx, nil, "Continue despite these warnings? Press Enter to continue, or type abort.", 0)
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
		if ctx.Err() != nil {
			// A signal (or --timeout) during the login: the transport says
			// it could not connect, but the run was stopped (exit 130).
			return ru.classify(ctx, context.Cause(ctx))
		}
		return StatusConnectFailed, err
	}
	ru.tr, ru.connected = tr, true
	if vc, ok := tr.(transports.VirtualClock); ok && vc.VirtualTime() {
		ru.clock = newVirtualClock(o.Now().UTC())
	}
	ru.em.emit(Event{Type: EvConnected, Dir: ru.dir, Transport: o.Transport})
	facts := tr.Facts()
	shown := make(map[string]string, len(facts))
	for k, v := range facts { // device text
		shown[k] = ru.redact(v)
	}
	ru.m.Target.Facts = shown
	ru.target.Hostname, ru.target.Model = facts["hostname"], facts["model"]
	ru.target.Serial, ru.target.Version = facts["serial"], facts["sw_version"]
	if err := ru.planCleanup(); err != nil {
		// Nothing was sent yet: without the plan on record, a killed run
		// could not be cleaned up.
		return StatusFailed, err
	}
	// The top-level steps one at a time: a long playbook's are read from
	// its file again as the run comes to them (playbook.EachStep); one
	// that changed since it was checked stops the run there.
	if err := ru.pb.EachStep(func(s *playbook.Step) error { return ru.runTop(ctx, s) }); err != nil {
		return ru.classify(ctx, err)
	}
	if len(ru.exportFailed) > 0 {
		// Every step ran, but some evidence is missing.
		return StatusIncomplete, &ExportError{Failed: ru.exportFailed}
	}
	if len(ru.m.Missing) > 0 {
		return StatusIncomplete, &MissingError{Missing: ru.m.Missing}
	}
	return StatusOK, nil
}

// ExportError ends a run whose steps all ran but whose exports (without an
// on_error of their own) did not all succeed: exit 1.
type ExportError struct {
	// Failed are the failed export steps, each with its position.
	Failed []error
}

func (e *ExportError) Error() string {
	if len(e.Failed) == 1 {
		return "1 export failed: " + e.Failed[0].Error()
	}
	return fmt.Sprintf("%d exports failed: %v", len(e.Failed), errors.Join(e.Failed...))
}

func (e *ExportError) Unwrap() []error { return e.Failed }

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
