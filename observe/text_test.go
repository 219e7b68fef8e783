package observe_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/observe"
)

func code(n int) *int { return &n }

// TestTextLines pins the line each event prints (the words the CLI's
// testscripts and the fault suite read), where the same event type reads
// differently by context.
func TestTextLines(t *testing.T) {
	for _, c := range []struct {
		name string
		e    engine.Event
		want string
	}{
		{"step form skipped", engine.Event{Type: engine.EvFormSkipped, Seq: 3, Form: 1, Forms: 2, Command: "a", Error: "Invalid"}, "      form 1 of 2 not sent, the device refused it earlier: a\n"},
		{"cleanup form skipped", engine.Event{Type: engine.EvFormSkipped, Key: "undo-3-0", Form: 1, Forms: 2, Command: "a", Error: "Invalid"}, "      not sent: the device refused it earlier in this run: Invalid\n"},
		{"step of one form refused", engine.Event{Type: engine.EvFormRefused, Seq: 3, Form: 1, Forms: 1, Error: "Invalid"}, ""},
		{"cleanup of one form refused", engine.Event{Type: engine.EvFormRefused, Key: "undo-3-0", Form: 1, Forms: 1, Error: "Invalid"}, "      refused: Invalid\n"},
		{"repeat", engine.Event{Type: engine.EvStepStarted, Seq: 12, Command: "show x", Run: 2, Runs: 5}, "[ 12] show x  (2/5)\n"},
		{"pulled", engine.Event{Type: engine.EvStepEnded, Status: engine.EvOK, Output: "artifacts/ts.tgz", Bytes: 42}, "      ok (42 bytes) -> artifacts/ts.tgz\n"},
		{"run step", engine.Event{Type: engine.EvStepEnded, Status: engine.EvOK, Output: "steps/001-x.txt", DurationMS: 1500}, "      ok (1.5s) -> steps/001-x.txt\n"},
		{"failed", engine.Event{Type: engine.EvStepEnded, Status: engine.EvTimeout, Error: "timeout after 1s"}, "      timeout: timeout after 1s\n"},
		{"continued", engine.Event{Type: engine.EvStepContinued, Reason: engine.ReasonOnErrorContinue}, "      continuing (on_error: continue)\n"},
		{"continued, not evidence", engine.Event{Type: engine.EvStepContinued, Reason: engine.ReasonOnErrorContinue, NotEvidence: true},
			"      continuing: the step takes no evidence (evidence: false), so nothing is missing\n"},
		{"export failed, not evidence", engine.Event{Type: engine.EvStepContinued, Reason: engine.ReasonExportFailed, NotEvidence: true},
			"      continuing: the step takes no evidence (evidence: false), so nothing is missing\n"},
		{"resume, nothing left", engine.Event{Type: engine.EvCleanupStarted, Resume: true, Dir: "runs/x"}, "runbook: runs/x: nothing left to clean up\n"},
		{"resume", engine.Event{Type: engine.EvCleanupStarted, Resume: true, Dir: "runs/x", UndoCount: 1}, ""},
		{"run, nothing to clean", engine.Event{Type: engine.EvCleanupStarted}, ""},
		{"run problem", engine.Event{Type: engine.EvProblem, Scope: "run", Message: "writing summary: disk full"}, "runbook: writing summary: disk full\n"},
		{"step problem", engine.Event{Type: engine.EvProblem, Scope: "step", Message: "journal: disk full"}, "      journal: disk full\n"},
		{"never connected", engine.Event{Type: engine.EvRunEnded, Target: "fw1", Status: "connect-failed", ExitCode: code(4)}, "runbook: connect-failed (exit 4): nothing was sent to fw1, so no run folder is kept\n"},
		{"dirty", engine.Event{Type: engine.EvRunEnded, Dir: "runs/x", Summary: "runs/x/summary.md", Outcome: "CLEANUP INCOMPLETE", ExitCode: code(3), Pending: []string{"debug off"}},
			"CLEANUP INCOMPLETE: the device may still be in debug. Not undone:\n  debug off\nFinish with: runbook cleanup runs/x\nrunbook: CLEANUP INCOMPLETE (exit 3); summary: runs/x/summary.md\n"},
		{"missing, a run a pause held back of a step without id", engine.Event{Type: engine.EvRunEnded, Dir: "runs/x", Summary: "runs/x/summary.md", Outcome: "interrupted", ExitCode: code(130),
			Missing: []engine.MissingRecord{{Kind: "run", Run: 2, Command: "show clock", Status: "interrupted", Error: "cut short", ByHand: "Run it."}, {Seq: 3, Kind: "run", Command: "show x", Status: "failed", Error: "no", ByHand: "Run x."}}},
			"MISSING EVIDENCE: take it by hand:\n  \"show clock\": show clock (interrupted: cut short)\n      Run it.\n  step 3: show x (failed: no)\n      Run x.\nrunbook: interrupted (exit 130); summary: runs/x/summary.md\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			observe.NewText(&b, false).Event(c.e)
			if b.String() != c.want {
				t.Errorf("printed %q, want %q", b.String(), c.want)
			}
		})
	}
}

// TestTextLiveProgress: on a terminal the progress bar is drawn in place
// and cleared before the next line.
func TestTextLiveProgress(t *testing.T) {
	var b bytes.Buffer
	p := observe.NewText(&b, true)
	p.Event(engine.Event{Type: engine.EvExportProgress, Bytes: 1 << 20, Total: 2 << 20})
	p.Event(engine.Event{Type: engine.EvStepEnded, Status: engine.EvOK, Output: "artifacts/f", Bytes: 2 << 20})
	want := "\r\033[K      [###############...............] 1.0 MiB / 2.0 MiB\r\033[K      ok (2097152 bytes) -> artifacts/f\n"
	if b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
}

// TestJSONLines: one whole line per event, exit_code kept at 0, empty
// fields left out.
func TestJSONLines(t *testing.T) {
	var b bytes.Buffer
	j := observe.NewJSON(&b)
	j.Event(engine.Event{V: 1, Type: engine.EvNote, Target: "fw1", Message: "a\nb"})
	j.Event(engine.Event{V: 1, Type: engine.EvRunEnded, Target: "fw1", ExitCode: code(0)})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m["exit_code"] != 0.0 || m["type"] != "run-ended" || m["seq"] != nil || m["status"] != nil {
		t.Errorf("run-ended as %s", lines[1])
	}
}
