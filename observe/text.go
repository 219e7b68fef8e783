package observe

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// Text writes events as the progress lines a person reads: one line per
// command, indented lines for what came of it, the cleanup, the findings
// and how the run ended. With Live (a terminal) a wait counts down and an
// export draws a progress bar, both redrawn in place on one line.
type Text struct {
	w    io.Writer
	live bool

	mu sync.Mutex
	// drawn: the last thing written is a line redrawn in place (a
	// countdown, a progress bar), to clear before the next.
	drawn bool
	// stop ends the countdown of a wait, nil when none runs.
	stop chan struct{}
	done chan struct{}
	// lastBar is when the progress bar was last drawn.
	lastBar time.Time
	err     error
}

var _ engine.Observer = (*Text)(nil)

// NewText returns a Text writing to w; live adds the countdowns and
// progress bars of a terminal.
func NewText(w io.Writer, live bool) *Text { return &Text{w: w, live: live} }

// Err is the first write error, if any.
func (t *Text) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *Text) printf(format string, a ...any) {
	if t.drawn {
		t.drawn = false
		t.write("\r\033[K")
	}
	t.write(fmt.Sprintf(format, a...))
}

func (t *Text) write(s string) {
	if _, err := io.WriteString(t.w, s); err != nil && t.err == nil {
		t.err = err
	}
}

// Event implements engine.Observer.
func (t *Text) Event(e engine.Event) {
	t.stopCountdown()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Type {
	case engine.EvRunStarted:
		t.printf("runbook: %s (%s) against %s over %s\n", e.Playbook, e.Source, e.Target, e.Transport)
	case engine.EvWarning:
		t.printf("WARNING: %s\n", e.Message)
	case engine.EvConnected:
		t.printf("runbook: run folder %s\n", e.Dir)
	case engine.EvStepStarted:
		label := e.Command
		if e.Runs > 1 {
			label = fmt.Sprintf("%s  (%d/%d)", e.Command, e.Run, e.Runs)
		}
		t.printf("[%3d] %s\n", e.Seq, label)
	case engine.EvStepEnded:
		switch {
		case e.Status != engine.EvOK:
			t.printf("      %s: %s\n", e.Status, e.Error)
		case strings.HasPrefix(e.Output, "artifacts/"):
			t.printf("      ok (%d bytes) -> %s\n", e.Bytes, e.Output)
		default:
			t.printf("      ok (%s) -> %s\n", ms(e.DurationMS), e.Output)
		}
	case engine.EvStepSkipped:
		switch {
		case e.Kind == "note" && e.Reason == "":
			// A note whose when: is false says nothing: its text, a
			// template, would only read as if it applied.
		case e.Reason != "":
			t.printf("  -   %s (skipped: %s)\n", e.Name, e.Reason)
		default:
			t.printf("  -   %s (skipped)\n", e.Name)
		}
	case engine.EvStepContinued:
		if e.NotEvidence {
			t.printf("      continuing: the step takes no evidence (evidence: false), so nothing is missing\n")
		} else {
			t.printf("      %s\n", continued[e.Reason])
		}
	case engine.EvForEach:
		t.printf("      for each of %d items: %s\n", len(e.Items), strings.Join(e.Items, ", "))
	case engine.EvFormTried:
		t.printf("      trying form %d of %d: %s\n", e.Form, e.Forms, e.Command)
	case engine.EvFormSkipped:
		if e.Key != "" { // a ledger entry at cleanup
			t.printf("      not sent: the device refused it earlier in this run: %s\n", e.Error)
		} else {
			t.printf("      form %d of %d not sent, the device refused it earlier: %s\n", e.Form, e.Forms, e.Command)
		}
	case engine.EvFormRefused:
		// A step of one form says it in its step-ended.
		if e.Key != "" || e.Forms > 1 {
			t.printf("      refused: %s\n", e.Error)
		}
	case engine.EvCapture:
		t.printf("      captured %s = %s\n", e.Name, e.Value)
	case engine.EvPrompt:
		// Without --yes the prompter asks in its own words.
		if e.Auto {
			t.printf(">>> %s\n", e.Message)
		}
	case engine.EvPromptAnswered:
		if e.Status == engine.EvAutoContinued {
			t.printf("    (continuing: --yes)\n")
		}
	case engine.EvWait:
		t.printf("      waiting %s: %s\n", ms(e.DurationMS), e.Message)
		if t.live && !e.Virtual {
			t.startCountdown(time.Now().Add(time.Duration(e.DurationMS) * time.Millisecond))
		}
	case engine.EvSynced:
		// Said only when an end did not meet the others.
		if e.Status != engine.EvOK {
			t.printf("      %s\n", e.Message)
		}
	case engine.EvNote:
		t.printf("NOTE: %s\n", e.Message)
	case engine.EvExportProgress:
		if t.live {
			t.bar(e.Bytes, e.Total)
		}
	case engine.EvReconnected:
		t.printf("      reconnected\n")
	case engine.EvCleanupStarted:
		switch {
		case e.Resume && e.UndoCount+e.CleanupCount == 0:
			t.printf("runbook: %s: nothing left to clean up\n", e.Dir)
		case !e.Resume && e.UndoCount+e.CleanupCount > 0:
			t.printf("cleanup: %d undo, %d cleanup\n", e.UndoCount, e.CleanupCount)
		}
	case engine.EvCleanupEntry:
		t.printf("  %s: %s\n", e.Label, e.Command)
	case engine.EvCleanupEntryEnded:
		if e.Status == engine.EvOK {
			t.printf("      ok\n")
		} else {
			t.printf("      FAILED: %s\n", e.Error)
		}
	case engine.EvFinding:
		t.printf("FINDING [%s] %s: %s\n", e.Severity, e.ID, e.Message)
	case engine.EvProblem:
		if e.Scope == "run" {
			t.printf("runbook: %s\n", e.Message)
		} else {
			t.printf("      %s\n", e.Message)
		}
	case engine.EvRunEnded:
		t.runEnded(e)
	}
}

// continued says why a failed step let the run go on.
var continued = map[string]string{
	engine.ReasonOnErrorContinue: "continuing (on_error: continue)",
	engine.ReasonNotOverAPI:      "continuing: the note says how to run it on the CLI",
	engine.ReasonExportFailed:    "continuing: the run goes on to the remaining steps and will end incomplete (exit 1)",
}

func (t *Text) runEnded(e engine.Event) {
	code := 0
	if e.ExitCode != nil {
		code = *e.ExitCode
	}
	if e.Dir == "" {
		t.printf("runbook: %s (exit %d): nothing was sent to %s, so no run folder is kept\n", e.Status, code, e.Target)
		return
	}
	if len(e.Pending) > 0 {
		t.printf("CLEANUP INCOMPLETE: the device may still be in debug. Not undone:\n")
		for _, p := range e.Pending {
			t.printf("  %s\n", p)
		}
		t.printf("Finish with: runbook cleanup %s\n", e.Dir)
	}
	if len(e.Missing) > 0 {
		t.printf("MISSING EVIDENCE: take it by hand:\n")
		for _, m := range e.Missing {
			label := m.Step
			switch {
			case label == "" && m.Seq == 0: // nothing sent: a run a pause held back
				label = fmt.Sprintf("%q", m.Command)
			case label == "":
				label = fmt.Sprintf("step %d", m.Seq)
			}
			if m.Item != "" {
				label += " [item " + m.Item + "]"
			}
			t.printf("  %s: %s (%s: %s)\n      %s\n", label, m.Command, m.Status, m.Error, m.ByHand)
		}
	}
	t.printf("runbook: %s (exit %d); summary: %s\n", e.Outcome, code, e.Summary)
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// bar redraws the progress bar, at most ten times a second but always at
// the end. Called with mu held.
func (t *Text) bar(done, total int64) {
	now := time.Now()
	if now.Sub(t.lastBar) < 100*time.Millisecond && done != total {
		return
	}
	t.lastBar = now
	if total > 0 {
		const width = 30
		n := int(float64(width) * float64(done) / float64(total))
		n = min(max(n, 0), width)
		t.drawn = false
		t.printf("\r\033[K      [%s%s] %s / %s", strings.Repeat("#", n), strings.Repeat(".", width-n), engine.FormatBytes(done), engine.FormatBytes(total))
	} else {
		t.drawn = false
		t.printf("\r\033[K      %s", engine.FormatBytes(done))
	}
	t.drawn = true
}

// startCountdown redraws the time left until end each second, until the
// next event. Called with mu held.
func (t *Text) startCountdown(end time.Time) {
	stop, done := make(chan struct{}), make(chan struct{})
	t.stop, t.done = stop, done
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			left := time.Until(end)
			if left <= 0 {
				return
			}
			t.mu.Lock()
			t.drawn = false
			t.printf("\r\033[K      %s left", left.Round(time.Second))
			t.drawn = true
			t.mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			case <-time.After(left):
			}
		}
	}()
}

// stopCountdown ends a running countdown and waits for it, so that it
// never writes after the next event. Called without mu.
func (t *Text) stopCountdown() {
	t.mu.Lock()
	stop, done := t.stop, t.done
	t.stop, t.done = nil, nil
	t.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}
