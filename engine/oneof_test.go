package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// The device's refusals, as the replay gives them back (each kind a
// cassette records): the CLI's unknown command and invalid syntax, and the
// XML API's refusal of debug commands.
var (
	unknown   = &replay.Error{Kind: replay.KindUnknownCommand, Message: "Unknown command: advanced-routing"}
	invalid   = &replay.Error{Kind: replay.KindDevice, Message: "Invalid syntax."}
	notForAPI = &replay.Error{Kind: replay.KindDevice, Code: "17", Message: "debug not available to xmlapi client"}
)

// runOneOf runs src against a strict replay of exchanges (runStrict), so
// the cassette pins exactly what was sent, refused forms included.
func runOneOf(t *testing.T, src string, exchanges ...replay.Exchange) (*engine.Result, *replay.Transport) {
	t.Helper()
	return runStrict(t, context.Background(), parsed(t, "oneof.yaml", src), map[string]any{}, nil, exchanges...)
}

// parsed is the playbook src, read as the file name.
func parsed(t *testing.T, name, src string) *playbook.Playbook {
	t.Helper()
	pb, err := playbook.Parse(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// runStrict runs pb with params on ctx against a strict replay of
// exchanges: any command sent that is not the next exchange fails the
// run, so the cassette pins exactly what was sent. The run folder is a
// fresh one, confirmations are given (--yes); opts, when set, changes the
// options before the run.
func runStrict(t *testing.T, ctx context.Context, pb *playbook.Playbook, params map[string]any, opts func(*engine.Options), exchanges ...replay.Exchange) (*engine.Result, *replay.Transport) {
	t.Helper()
	tr := replay.New(&replay.Cassette{Exchanges: exchanges}, replay.Options{})
	o := engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay",
		Dir: filepath.Join(t.TempDir(), "run"), Yes: true,
		Open: func(context.Context) (transports.Transport, error) { return tr, nil },
	}
	if opts != nil {
		opts(&o)
	}
	return engine.New(o).Run(ctx), tr
}

func step(t *testing.T, m *engine.Manifest, id string) engine.StepRecord {
	t.Helper()
	for _, s := range m.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in %+v", id, m.Steps)
	return engine.StepRecord{}
}

// TestOneOfFirstRefusedSecondAccepted: the device refuses the legacy form;
// the step runs the second, records which, and the refused form with the
// device's words; its output is the accepted form's.
func TestOneOfFirstRefusedSecondAccepted(t *testing.T) {
	res, _ := runOneOf(t, `name: fib
title: FIB lookup either way
steps:
  - id: fib
    run:
      one_of:
        - test routing fib-lookup virtual-router default ip 192.0.2.1
        - test advanced-routing fib-lookup logical-router default ip 192.0.2.1
`,
		replay.Exchange{Command: "test routing fib-lookup virtual-router default ip 192.0.2.1", Error: unknown},
		replay.Exchange{Command: "test advanced-routing fib-lookup logical-router default ip 192.0.2.1", Output: "via 10.0.0.1\n"},
	)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	s := step(t, written(t, res), "fib")
	if s.Status != "ok" || s.Command != "test advanced-routing fib-lookup logical-router default ip 192.0.2.1" {
		t.Errorf("step %s %q", s.Status, s.Command)
	}
	if s.AcceptedForm == nil || *s.AcceptedForm != 1 {
		t.Errorf("accepted_form %v, want 1", s.AcceptedForm)
	}
	want := []engine.RefusedForm{{Form: 0, Command: "test routing fib-lookup virtual-router default ip 192.0.2.1", Error: "Unknown command: advanced-routing"}}
	if !reflect.DeepEqual(s.Refused, want) {
		t.Errorf("refused %+v, want %+v", s.Refused, want)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, s.Output))
	if err != nil || string(b) != "via 10.0.0.1\n" {
		t.Errorf("output %q, %v", b, err)
	}
}

// TestOneOfAllRefused: a step whose every form the device refuses is a
// failed step whose error names each form and the device's answer; on_error
// applies (here continue: the next step runs), and the run ends
// incomplete (exit 1), the step missing evidence to take in either form.
func TestOneOfAllRefused(t *testing.T) {
	src := `name: fib
title: FIB lookup either way
steps:
  - id: fib
    run: {one_of: [test routing fib-lookup x, test advanced-routing fib-lookup x]}
    ON_ERROR
  - run: show clock
`
	ex := []replay.Exchange{
		{Command: "test routing fib-lookup x", Error: invalid},
		{Command: "test advanced-routing fib-lookup x", Error: unknown},
		{Command: "show clock", Output: "Fri Nov 27 10:02:33 UTC 2026\n"},
	}
	res, _ := runOneOf(t, strings.Replace(src, "ON_ERROR", "", 1), ex...)
	const msg = `the device refused all 2 forms; try one by hand: "test routing fib-lookup x" (Invalid syntax.); "test advanced-routing fib-lookup x" (Unknown command: advanced-routing)`
	if res.ExitCode != engine.ExitStepFailed || res.Err == nil || !strings.HasSuffix(res.Err.Error(), "step fib: "+msg) {
		t.Fatalf("exit %d, err %v; want exit 1 with %q", res.ExitCode, res.Err, msg)
	}
	s := step(t, written(t, res), "fib")
	if s.Status != "failed" || s.AcceptedForm != nil || len(s.Refused) != 2 || s.Error != msg {
		t.Errorf("step %+v", s)
	}
	res, _ = runOneOf(t, strings.Replace(src, "ON_ERROR", "on_error: continue", 1), ex...)
	if res.ExitCode != engine.ExitStepFailed || res.Status != engine.StatusIncomplete || len(written(t, res).Steps) != 2 {
		t.Errorf("on_error continue: exit %d status %s, %d steps: %v", res.ExitCode, res.Status, len(written(t, res).Steps), res.Err)
	}
	const byHand = "Run on the firewall's CLI, while the problem happens, the form of this command the release takes: `test routing fib-lookup x` or `test advanced-routing fib-lookup x`; save its output with the run folder."
	if ms := res.Manifest.Missing; len(ms) != 1 || ms[0].Step != "fib" || ms[0].Error != msg || ms[0].ByHand != byHand {
		t.Errorf("missing evidence %+v", ms)
	}
}

// TestUndoOneOfFirstRefused: the documented form of the undo is refused;
// the second is sent and the device is clean (exit 0), the record saying
// which form and what the device said to the first.
func TestUndoOneOfFirstRefused(t *testing.T) {
	res, _ := runOneOf(t, `name: undo
title: Undo either way
steps:
  - run: debug ike global on debug
    undo: {one_of: [debug ike global off, debug ike global on normal]}
`,
		replay.Exchange{Command: "debug ike global on debug"},
		replay.Exchange{Command: "debug ike global off", Error: invalid},
		replay.Exchange{Command: "debug ike global on normal"},
	)
	if res.ExitCode != 0 || len(res.Pending) != 0 {
		t.Fatalf("exit %d, pending %q: %v", res.ExitCode, res.Pending, res.Err)
	}
	u := res.Manifest.Undo
	if len(u) != 1 || u[0].Status != "ok" || u[0].Command != "debug ike global on normal" || u[0].AcceptedForm == nil || *u[0].AcceptedForm != 1 {
		t.Fatalf("undo %+v", u)
	}
	if want := []engine.RefusedForm{{Form: 0, Command: "debug ike global off", Error: "Invalid syntax."}}; !reflect.DeepEqual(u[0].Refused, want) {
		t.Errorf("refused %+v", u[0].Refused)
	}
}

// TestCleanupNeverResendsARefusedForm: a step refused `debug ike global
// off`; the undo and the cleanup: entry that list it first go straight to
// their next form (the strict replay fails on any other command).
func TestCleanupNeverResendsARefusedForm(t *testing.T) {
	res, _ := runOneOf(t, `name: resend
title: Never twice
steps:
  - run: debug ike global on debug
    undo: {one_of: [debug ike global off, debug ike global on normal]}
  - run: {one_of: [debug ike global off, show clock]}
cleanup:
  - run: {one_of: [debug ike global off, show system info]}
`,
		replay.Exchange{Command: "debug ike global on debug"},
		replay.Exchange{Command: "debug ike global off", Error: invalid},
		replay.Exchange{Command: "show clock", Output: "Fri Nov 27 10:02:33 UTC 2026\n"},
		replay.Exchange{Command: "debug ike global on normal"},
		replay.Exchange{Command: "show system info", Output: "hostname: fw1\n"},
	)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v (pending %q)", res.ExitCode, res.Err, res.Pending)
	}
	got := sent(written(t, res))
	want := []string{"debug ike global on debug", "show clock", "undo: debug ike global on normal", "cleanup: show system info"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	if c := res.Manifest.Cleanup[0]; len(c.Refused) != 1 || c.Refused[0].Error != "Invalid syntax." {
		t.Errorf("cleanup record %+v: want the earlier refusal named", c)
	}
}

// TestUndoOneOfNoneAccepted: no form of an undo is accepted: exit 3, and
// the pending entry names every form, for the operator to try by hand.
func TestUndoOneOfNoneAccepted(t *testing.T) {
	res, _ := runOneOf(t, `name: dirty
title: Nothing works
steps:
  - run: debug ike global on debug
    undo: {one_of: [debug ike global off, debug ike global on normal]}
`,
		replay.Exchange{Command: "debug ike global on debug"},
		replay.Exchange{Command: "debug ike global off", Error: notForAPI},
		replay.Exchange{Command: "debug ike global on normal", Error: notForAPI},
	)
	if res.ExitCode != engine.ExitDirty {
		t.Fatalf("exit %d, want 3: %v", res.ExitCode, res.Err)
	}
	if want := []string{`one of: "debug ike global off", "debug ike global on normal"`}; !reflect.DeepEqual(res.Pending, want) {
		t.Errorf("pending %q, want %q", res.Pending, want)
	}
	u := res.Manifest.Undo[0]
	const msg = `the device refused all 2 forms; try one by hand: "debug ike global off" (debug not available to xmlapi client (code 17)); "debug ike global on normal" (debug not available to xmlapi client (code 17))`
	if u.Status != "failed" || u.Error != msg {
		t.Errorf("undo %+v\nwant error %q", u, msg)
	}
	sum, _ := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
	if !strings.Contains(string(sum), `debug ike global on normal`) {
		t.Errorf("summary.md does not name the forms:\n%s", sum)
	}
}

// TestUndoOneOfSatisfiedByTheStep: the playbook switches debug back itself
// with a step of alternatives; the form it ran is the undo's first form
// not refused, so the undo is done and not sent again.
func TestUndoOneOfSatisfiedByTheStep(t *testing.T) {
	res, _ := runOneOf(t, `name: satisfied
title: Switched back by the playbook
steps:
  - run: debug ike global on debug
    undo: {one_of: [debug ike global off, debug ike global on normal]}
  - run: {one_of: [debug ike global off, debug ike global on normal]}
`,
		replay.Exchange{Command: "debug ike global on debug"},
		replay.Exchange{Command: "debug ike global off", Error: invalid},
		replay.Exchange{Command: "debug ike global on normal"},
	)
	if res.ExitCode != 0 || len(res.Pending) != 0 {
		t.Fatalf("exit %d, pending %q: %v", res.ExitCode, res.Pending, res.Err)
	}
	u := res.Manifest.Undo
	if len(u) != 1 || u[0].Note != "done by the playbook's own step" || u[0].Command != "debug ike global on normal" {
		t.Fatalf("undo %+v", u)
	}
	// DoneBy names the step that sent it: the second one.
	steps := written(t, res).Steps
	if u[0].DoneBy == 0 || u[0].DoneBy != steps[len(steps)-1].Seq || steps[len(steps)-1].Command != u[0].Command {
		t.Errorf("undo done by seq %d; steps %+v", u[0].DoneBy, steps)
	}
	// summary.md says so once, not as a second command that went well.
	b, err := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("- `debug ike global on normal`: done by step %d, not sent again\n", u[0].DoneBy); !strings.Contains(string(b), want) {
		t.Errorf("summary.md lacks %q:\n%s", want, b)
	}
}

// TestFinishCleanupTriesEveryForm: the engine was killed with an undo of
// two forms pending; runbook cleanup finds both in the journal, and tries
// the second when the device refuses the first.
func TestFinishCleanupTriesEveryForm(t *testing.T) {
	dir := t.TempDir()
	journal := `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"p","target":"fw1","transport":"replay","version":1}
{"time":"2026-01-02T03:04:06Z","event":"undo-intent","seq":1,"command":"debug ike global on debug","undo":[["debug ike global off","debug ike global on normal"]]}
`
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "debug ike global off", Error: invalid},
		{Command: "debug ike global on normal"},
	}}
	open := func(context.Context) (transports.Transport, error) { return replay.New(c, replay.Options{}), nil }
	var out strings.Builder
	rep, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), open, observe.NewText(&out, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Done, []string{"debug ike global on normal"}) || len(rep.Failed) != 0 {
		t.Errorf("done %q failed %q\n%s", rep.Done, rep.Failed, out.String())
	}
	for _, want := range []string{"undo: debug ike global off", "refused: Invalid syntax.", "trying form 2 of 2: debug ike global on normal"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	rep, err = engine.FinishCleanup(context.Background(), runfolder.Open(dir), open, nil, nil)
	if err != nil || len(rep.Done)+len(rep.Failed) != 0 {
		t.Errorf("second cleanup: %v, done %q failed %q", err, rep.Done, rep.Failed)
	}
}
