package runtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// Options configure how cases run.
type Options struct {
	// Mode is replay.Strict (the default: every command must be the next
	// one recorded) or replay.ByCommand (for exploring a changed playbook).
	Mode replay.Mode
	// Builtin loads the built-in playbook called name and says where it
	// came from; nil means playbooks.Builtin.
	Builtin func(name string) (*playbook.Playbook, string, error)
	// TempDir is where run folders are written (and removed); empty means
	// the system's temporary directory.
	TempDir string
	// Out, if set, receives the engine's progress lines.
	Out io.Writer
}

// Outcome is how one case went.
type Outcome struct {
	Case Case
	// Got is what the replay gave (nil if the case could not run).
	Got *Expectation
	// Want is the stored expectation (nil if there is none).
	Want *Expectation
	// Diff is a unified diff from Want to Got, empty when they agree.
	Diff string
	// Err says why the case could not run or be compared: bad input
	// (errors.Is(Err, ErrInput)), or missing expectations.
	Err error
	// RunErr is the error the replayed run ended with, if any (it is part
	// of what is tested only through the exit code and the commands).
	RunErr error
	// Elapsed is how long the case took.
	Elapsed time.Duration
}

// Passed reports whether the case ran and matched its expectations.
func (o *Outcome) Passed() bool { return o.Err == nil && o.Got != nil && o.Diff == "" }

// ErrNoExpectation is wrapped by Outcome.Err for a case without its
// CASE.expect.yaml (write it with --update).
var ErrNoExpectation = errors.New("no expectations: run with --update to write them, then review them")

// Run replays one case and compares it with its expectations.
func Run(ctx context.Context, c Case, o Options) *Outcome {
	start := time.Now()
	out := &Outcome{Case: c}
	defer func() { out.Elapsed = time.Since(start) }()
	got, runErr, err := replayCase(ctx, c, o)
	if err != nil {
		out.Err = err
		return out
	}
	out.Got, out.RunErr = got, runErr
	want, err := LoadExpectation(c.Expect)
	if errors.Is(err, os.ErrNotExist) {
		out.Err = fmt.Errorf("%s: %w", c.Expect, ErrNoExpectation)
		return out
	}
	if err != nil {
		out.Err = err
		return out
	}
	out.Want = want
	out.Diff = Diff(c.Expect, want, "replay of "+c.Cassette, got)
	return out
}

// Update replays one case and writes what it gave as its expectations.
// The Outcome compares with the expectations as they were, so its Diff
// shows what changed.
func Update(ctx context.Context, c Case, o Options) *Outcome {
	out := Run(ctx, c, o)
	if out.Got == nil || (out.Err != nil && !errors.Is(out.Err, ErrNoExpectation)) {
		return out
	}
	if out.Err == nil && out.Diff == "" {
		return out
	}
	if err := WriteExpectation(c.Expect, out.Got); err != nil {
		out.Err = err
		return out
	}
	if out.Want == nil {
		out.Diff = Diff(c.Expect+" (new)", &Expectation{}, "replay of "+c.Cassette, out.Got)
	}
	out.Err = nil
	return out
}

// Playbook loads the playbook of case c whose cassette records the
// playbook called name: c.Playbook, else the file LocatePlaybook finds,
// else the built-in. It returns the playbook and where it came from.
func Playbook(c Case, name string, builtin func(string) (*playbook.Playbook, string, error)) (*playbook.Playbook, string, error) {
	path := c.Playbook
	if path == "" {
		path = LocatePlaybook(c.Cassette, name)
	}
	if path != "" {
		pb, err := playbook.Load(path)
		if err != nil {
			return nil, "", inputError{err}
		}
		if pb.Name != name {
			return nil, "", badInput("cassette %s records playbook %q, but %s is %q", c.Cassette, name, path, pb.Name)
		}
		return pb, "file " + path, nil
	}
	if builtin == nil {
		builtin = func(n string) (*playbook.Playbook, string, error) {
			if _, ok := playbooks.Builtin.Lookup(n); !ok {
				return nil, "", fmt.Errorf("no such built-in playbook")
			}
			pb, err := playbooks.Builtin.Load(n)
			return pb, "built-in " + n, err
		}
	}
	pb, src, err := builtin(name)
	if err != nil {
		return nil, "", badInput("cassette %s records playbook %q: no %s.yaml beside it or in a parent directory, and no built-in: %w", c.Cassette, name, name, err)
	}
	return pb, src, nil
}

// replayCase runs c's playbook against its cassette. err is a case that
// cannot run; runErr the error the run itself ended with.
func replayCase(ctx context.Context, c Case, o Options) (got *Expectation, runErr, err error) {
	cas, err := replay.Open(c.Cassette)
	if err != nil {
		return nil, nil, inputError{err}
	}
	if cas.Playbook == "" {
		return nil, nil, badInput("cassette %s: no `playbook:` in its header: runbook test cannot tell which playbook it records", c.Cassette)
	}
	pb, source, err := Playbook(c, cas.Playbook, o.Builtin)
	if err != nil {
		return nil, nil, err
	}
	params, secretVals, err := BindCassette(pb, cas)
	if err != nil {
		return nil, nil, inputError{fmt.Errorf("cassette %s: %s: %w", c.Cassette, pb.Name, err)}
	}
	redactor := &secret.Redactor{}
	resolver := &secret.Resolver{Redactor: redactor, Getenv: func(k string) string { return secretVals[k] }}
	tmp, err := os.MkdirTemp(o.TempDir, "runbook-test-")
	if err != nil {
		return nil, nil, fmt.Errorf("runtest: %w", err)
	}
	defer os.RemoveAll(tmp)

	tr := replay.New(cas, replay.Options{Mode: o.Mode, Redact: redactor.String})
	log := &commandLog{}
	var obs engine.Observer = log
	if o.Out != nil {
		obs = engine.Observers{log, observe.NewText(o.Out, false)}
	}
	target := cas.Target.Name
	if target == "" {
		target = "replay"
	}
	r := engine.New(engine.Options{
		Folder:    runfolder.Create,
		Playbook:  pb,
		Source:    source,
		Params:    params,
		Target:    target,
		Transport: "replay",
		Cassette:  c.Cassette,
		Secrets:   resolver,
		Dir:       tmp + string(os.PathSeparator) + "run",
		Yes:       true,
		Observer:  obs,
		Open: func(context.Context) (transports.Transport, error) {
			// A reconnect continues the same recorded session, as the
			// recording of a reconnected session does.
			return &session{tr: tr, log: log}, nil
		},
	})
	res := r.Run(ctx)
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("runtest: %s: %w", c.Name, err)
	}
	return log.expectation(res), res.Err, nil
}

// placeholder is an author pattern's placeholder, NAME-N.
var placeholder = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)-[0-9]+$`)

// standIns are valid values of each type that a redacted parameter binds
// with, to pass the type check; the placeholder itself is then what the
// run uses, so the commands carry it just as the cassette does.
func standIn(p *playbook.Param) (string, bool) {
	switch p.Type {
	case playbook.TypeIP:
		return "192.0.2.1", true
	case playbook.TypeCIDR:
		return "192.0.2.0/24", true
	case playbook.TypeEnum:
		if len(p.Values) > 0 {
			return p.Values[0], true
		}
	case playbook.TypeString:
		return "", false // any text is a string already
	}
	return "", false
}

// BindCassette binds the params a cassette was recorded with to pb.
//
// A param an author pattern redacted (peer_ip: IP-2) is bound as the
// placeholder itself: the type check (ip, cidr, enum) is made on a
// stand-in, and the run then sends IP-2 where the live run sent the
// address, which is exactly what the redacted cassette recorded.
//
// A secret param is stored as its reference (env:PW), never its value; it
// is bound to a stand-in reference whose value is returned in secretVals
// (keyed by the variable name the resolver asks for), so the run resolves
// it without the real secret, and the run's redaction turns it into the
// placeholder the cassette holds.
func BindCassette(pb *playbook.Playbook, c *replay.Cassette) (params map[string]any, secretVals map[string]string, err error) {
	names := map[string]bool{}
	for _, p := range c.Redaction.Patterns {
		names[p.Name] = true
	}
	given := make(map[string]string, len(c.Params))
	restore := map[string]string{}
	for k, v := range c.Params {
		given[k] = v
		p := pb.Param(k)
		if p == nil {
			continue
		}
		m := placeholder.FindStringSubmatch(v)
		if m == nil || !names[m[1]] {
			continue
		}
		if s, ok := standIn(p); ok {
			given[k] = s
			restore[k] = v
		}
	}
	params, err = pb.Bind(given)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range restore {
		params[k] = v
	}
	secretVals = map[string]string{}
	for _, p := range pb.Params {
		if p.Type != playbook.TypeSecret {
			continue
		}
		if r, ok := params[p.Name].(secret.Ref); ok && !r.IsZero() {
			env := "RUNBOOK_TEST_SECRET_" + strings.ToUpper(p.Name)
			secretVals[env] = "runbook-test-secret-" + p.Name
			params[p.Name] = secret.Ref{Kind: "env", Name: env}
		}
	}
	return params, secretVals, nil
}

// sent is one command (or export) sent, with the label of the ledger
// entry it was sent for ("undo", "cleanup"), "" for a step.
type sent struct {
	label string
	text  string
}

// commandLog collects what a case's run sent, in order, and the run's
// findings. It observes the run's events: between a cleanup-entry and its
// cleanup-entry-ended, what is sent is for that ledger entry (undo or
// cleanup), and is labelled so.
type commandLog struct {
	mu       sync.Mutex
	sent     []sent
	label    string
	findings []Finding
}

// Event implements engine.Observer.
func (l *commandLog) Event(e engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Type {
	case engine.EvCleanupEntry:
		l.label = e.Label
	case engine.EvCleanupEntryEnded:
		l.label = ""
	case engine.EvFinding:
		l.findings = append(l.findings, Finding{ID: e.ID, Severity: e.Severity})
	}
}

// add logs text, sent for the current ledger entry if any.
func (l *commandLog) add(text string) {
	l.mu.Lock()
	l.sent = append(l.sent, sent{l.label, text})
	l.mu.Unlock()
}

// expectation builds what res gave from what the run sent and its events.
func (l *commandLog) expectation(res *engine.Result) *Expectation {
	e := &Expectation{ExitCode: res.ExitCode}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.sent {
		switch s.label {
		case engine.KindUndo.String():
			e.Undo = append(e.Undo, s.text)
		case engine.KindCleanup.String():
			e.Cleanup = append(e.Cleanup, s.text)
		default:
			e.Commands = append(e.Commands, s.text)
		}
	}
	e.Findings = append(e.Findings, l.findings...)
	return e
}

// session is what the engine sees of the replay: every command and export
// is logged (with the label of the ledger entry it was sent for, from the
// run's events). Close ends only this session;
// a re-opened session continues the same replay.
type session struct {
	tr  *replay.Transport
	log *commandLog

	mu     sync.Mutex
	closed bool
}

var (
	_ transports.Transport    = (*session)(nil)
	_ transports.Exporter     = (*session)(nil)
	_ transports.VirtualClock = (*session)(nil)
)

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Run logs cmd and replays it.
func (s *session) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if s.isClosed() {
		return transports.Result{}, fmt.Errorf("replay: %w", transports.ErrClosed)
	}
	s.log.add(cmd.CLI)
	return s.tr.Run(ctx, cmd)
}

// Facts returns the recorded facts.
func (s *session) Facts() transports.Facts { return s.tr.Facts() }

// Interactive reports whether the recorded transport answered prompts.
func (s *session) Interactive() bool { return s.tr.Interactive() }

// Close ends this session.
func (s *session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// CanExport answers from the cassette.
func (s *session) CanExport(category string) bool { return s.tr.CanExport(category) }

// Export logs the request and replays it.
func (s *session) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	if s.isClosed() {
		return transports.ExportInfo{}, fmt.Errorf("replay: %w", transports.ErrClosed)
	}
	text := "export " + req.Category
	if req.File != "" {
		text += " " + req.File
	}
	s.log.add(text)
	return s.tr.Export(ctx, req, w)
}

// VirtualTime is the replay's.
func (s *session) VirtualTime() bool { return s.tr.VirtualTime() }
