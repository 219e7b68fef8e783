package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/observe"
)

// failingWriter fails every write, as a closed terminal or pipe does.
type failingWriter struct{ n int }

func (w *failingWriter) Write([]byte) (int, error) { w.n++; return 0, errors.New("write: broken pipe") }

// TestObserversNeverStopTheRun: an observer that panics on every event and
// printers whose writes all fail change nothing in the run: it ends ok,
// its undo done, and the observer after them still sees every event, in
// order, from run-started to run-ended.
func TestObserversNeverStopTheRun(t *testing.T) {
	var got []engine.Event
	broken := &failingWriter{}
	text, js := observe.NewText(broken, true), observe.NewJSON(broken)
	res, _ := runIt(t, runCfg{opts: func(o *engine.Options) {
		o.Observer = engine.Observers{
			engine.ObserverFunc(func(engine.Event) { panic("observer bug") }),
			text, js,
			engine.ObserverFunc(func(e engine.Event) { got = append(got, e) }),
		}
	}})
	if res.ExitCode != 0 || len(res.Pending) > 0 {
		t.Fatalf("exit %d, pending %v: %v", res.ExitCode, res.Pending, res.Err)
	}
	if broken.n == 0 || text.Err() == nil || js.Err() == nil {
		t.Fatalf("the printers never wrote (%d writes): the test proves nothing", broken.n)
	}
	if len(got) < 4 || got[0].Type != engine.EvRunStarted || got[len(got)-1].Type != engine.EvRunEnded {
		t.Fatalf("events %v", types(got))
	}
	end := got[len(got)-1]
	if end.ExitCode == nil || *end.ExitCode != 0 || end.Dir != res.Dir {
		t.Errorf("run-ended %+v", end)
	}
	// Every undo the run armed was sent at cleanup, each reported.
	armed, entries := 0, 0
	for _, e := range got {
		if e.V != engine.EventSchema || e.Target != "fw1" {
			t.Errorf("event %+v: want v %d, target fw1", e, engine.EventSchema)
		}
		switch e.Type {
		case engine.EvUndoArmed:
			armed += len(e.Undo)
		case engine.EvCleanupEntryEnded:
			if e.Label == "undo" && e.Status == engine.EvOK {
				entries++
			}
		}
	}
	if armed == 0 || armed != entries {
		t.Errorf("%d undo armed, %d sent ok at cleanup: %v", armed, entries, types(got))
	}
	// Each step-started is ended before the next starts.
	open := 0
	for _, e := range got {
		switch e.Type {
		case engine.EvStepStarted:
			open++
		case engine.EvStepEnded:
			open--
		}
		if open < 0 || open > 1 {
			t.Fatalf("steps not nested: %v", types(got))
		}
	}
	if i := slices.IndexFunc(got, func(e engine.Event) bool { return e.Type == engine.EvCleanupStarted }); i < 0 {
		t.Errorf("no cleanup-started: %v", types(got))
	}
}

func types(es []engine.Event) []engine.EventType {
	out := make([]engine.EventType, len(es))
	for i, e := range es {
		out[i] = e.Type
	}
	return out
}
