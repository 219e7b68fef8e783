package engine

import (
	"strings"
	"testing"
)

// TestOutcome pins the one table of statuses, exit codes and words: exit 3
// is never called ok.
func TestOutcome(t *testing.T) {
	cases := []struct {
		s     Status
		dirty bool
		exit  int
		words string
	}{
		{StatusOK, false, 0, "ok"},
		{StatusFailed, false, 1, "failed"},
		{StatusTimeout, false, 1, "timed out"},
		{StatusRefused, false, 2, "refused, nothing was sent"},
		{StatusConnectFailed, false, 4, "could not connect"},
		{StatusInterrupted, false, 130, "interrupted"},
		{StatusOK, true, 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: ok)"},
		{StatusInterrupted, true, 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: interrupted)"},
	}
	for _, c := range cases {
		exit := ExitCode(c.s, c.dirty)
		if exit != c.exit {
			t.Errorf("ExitCode(%s, %t) = %d, want %d", c.s, c.dirty, exit, c.exit)
		}
		w := Outcome(string(c.s), exit)
		if w != c.words {
			t.Errorf("Outcome(%s, %d) = %q, want %q", c.s, exit, w, c.words)
		}
		if exit == ExitDirty && strings.HasPrefix(w, "ok") {
			t.Errorf("exit 3 called %q", w)
		}
	}
}
