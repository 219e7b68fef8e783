package engine

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// TestOutcome pins the one table of statuses, exit codes and words: exit 3
// is never called ok, and a run whose findings fired is not called ok
// either.
func TestOutcome(t *testing.T) {
	crit := []FindingRecord{{ID: "no-sa", Severity: "critical"}}
	mixed := []FindingRecord{{ID: "a", Severity: "critical"}, {ID: "b", Severity: "warning"}, {ID: "c", Severity: "info"}, {ID: "d", Severity: "critical"}}
	warn := []FindingRecord{{ID: "w1", Severity: "warning"}, {ID: "w2", Severity: "warning"}}
	info := []FindingRecord{{ID: "i", Severity: "info"}}
	cases := []struct {
		s        Status
		dirty    bool
		findings []FindingRecord
		missing  int
		failOn   playbook.Severity
		exit     int
		words    string
	}{
		{StatusOK, false, nil, 0, "", 0, "ok"},
		{StatusFailed, false, nil, 0, "", 1, "failed"},
		{StatusTimeout, false, nil, 0, "", 1, "timed out"},
		{StatusRefused, false, nil, 0, "", 2, "refused, nothing was sent"},
		{StatusConnectFailed, false, nil, 0, "", 4, "could not connect"},
		{StatusInterrupted, false, nil, 0, "", 130, "interrupted"},
		{StatusOK, true, nil, 0, "", 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: ok)"},
		{StatusInterrupted, true, nil, 0, "", 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: interrupted)"},
		// Findings change the words whatever --fail-on says ...
		{StatusOK, false, crit, 0, "", 0, "done, 1 critical finding"},
		{StatusOK, false, info, 0, "", 0, "done, 1 info finding"},
		{StatusOK, false, warn, 0, "", 0, "done, 2 warning findings"},
		{StatusOK, false, mixed, 0, "", 0, "done, 2 critical, 1 warning and 1 info findings"},
		{StatusFailed, false, crit, 0, "", 1, "failed, 1 critical finding"},
		// ... and --fail-on the exit code of an ok run only.
		{StatusOK, false, crit, 0, playbook.SeverityCritical, 5, "done, 1 critical finding"},
		{StatusOK, false, crit, 0, playbook.SeverityWarning, 5, "done, 1 critical finding"},
		{StatusOK, false, warn, 0, playbook.SeverityCritical, 0, "done, 2 warning findings"},
		{StatusOK, false, warn, 0, playbook.SeverityWarning, 5, "done, 2 warning findings"},
		{StatusOK, false, info, 0, playbook.SeverityWarning, 0, "done, 1 info finding"},
		{StatusFailed, false, crit, 0, playbook.SeverityCritical, 1, "failed, 1 critical finding"},
		{StatusInterrupted, false, crit, 0, playbook.SeverityCritical, 130, "interrupted, 1 critical finding"},
		{StatusOK, true, crit, 0, playbook.SeverityCritical, 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: done, 1 critical finding)"},
		// Every step ran, but steps that let the run go on failed: exit 1,
		// as a failed export, whatever the findings and --fail-on say.
		{StatusIncomplete, false, nil, 2, "", 1, "done, 2 steps failed"},
		{StatusIncomplete, false, nil, 1, "", 1, "done, 1 step failed"},
		{StatusIncomplete, false, crit, 1, "", 1, "done, 1 step failed, 1 critical finding"},
		{StatusIncomplete, false, crit, 2, playbook.SeverityCritical, 1, "done, 2 steps failed, 1 critical finding"},
		{StatusIncomplete, true, nil, 2, "", 3, "CLEANUP INCOMPLETE, the device may still be in debug (steps: done, 2 steps failed)"},
		// A run a step stopped is "failed": the count is not said.
		{StatusFailed, false, nil, 2, "", 1, "failed"},
	}
	for _, c := range cases {
		exit := ExitCode(c.s, c.dirty, FailsOn(c.findings, c.failOn))
		if exit != c.exit {
			t.Errorf("ExitCode(%s, dirty %t, %d findings, fail-on %q) = %d, want %d", c.s, c.dirty, len(c.findings), c.failOn, exit, c.exit)
		}
		w := Outcome(string(c.s), exit, c.findings, c.missing)
		if w != c.words {
			t.Errorf("Outcome(%s, %d, %d findings) = %q, want %q", c.s, exit, len(c.findings), w, c.words)
		}
		if (exit == ExitDirty || len(c.findings) > 0 || c.missing > 0) && strings.HasPrefix(w, "ok") {
			t.Errorf("exit %d with %d findings called %q", exit, len(c.findings), w)
		}
	}
}

// TestWorseExit pins the precedence of exit codes across targets:
// 3 > 130 > 4 > 1 > 2 > 5 > 0.
func TestWorseExit(t *testing.T) {
	order := []int{ExitOK, ExitFinding, ExitInvalid, ExitStepFailed, ExitConnect, ExitInterrupted, ExitDirty}
	for i, a := range order {
		for j, b := range order {
			want := a
			if j > i {
				want = b
			}
			if got := WorseExit(a, b); got != want {
				t.Errorf("WorseExit(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestSeriesKind(t *testing.T) {
	for _, c := range []struct{ parser, command, want string }{
		{"counters", "show counter global filter delta yes packet-filter yes", SeriesDelta},
		{"counters", "show counter global filter packet-filter yes delta yes severity drop", SeriesDelta},
		{"counters", `show counter global filter delta "yes"`, SeriesDelta},
		{"counters", "show counter global", SeriesCumulative},
		{"counters", "show counter global filter delta no", SeriesCumulative},
		{"keyvalue", "show vpn flow tunnel-id 207", SeriesCumulative},
		{"keyvalue", "show vpn flow  tunnel-id 207", SeriesCumulative},
		{"keyvalue", "show vpn flow", SeriesGauge},
		{"system-resources", "show system resources", SeriesGauge},
		{"resource-monitor", "show running resource-monitor second last 5", SeriesGauge},
		{"", "", SeriesGauge},
	} {
		if got := SeriesKind(c.parser, c.command); got != c.want {
			t.Errorf("SeriesKind(%q, %q) = %q, want %q", c.parser, c.command, got, c.want)
		}
	}
}
