package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// stopReadingPlaybook switches debug on (with its undo), then sends a
// command longer than the SSH channel's window (2 MiB): on a device that
// stopped reading, its write cannot finish. BIG is replaced by the
// command, TIMEOUT by the step's timeout: line (or nothing).
const stopReadingPlaybook = `name: fault-stop-reading
title: A device that stops reading
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: big
    run: BIG
TIMEOUT  - id: again
    run: show system info
`

func writeStopReadingPlaybook(t *testing.T, dir, big, timeout string) string {
	t.Helper()
	pb := strings.NewReplacer("BIG", big, "TIMEOUT", timeout).Replace(stopReadingPlaybook)
	f := filepath.Join(dir, "fault-stop-reading.yaml")
	if err := os.WriteFile(f, []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStoppedReading: the device answers `debug ike global on debug` and
// then reads nothing more (sim Faults.StopReadingAfter, a hung management
// plane), and the next step's command is longer than the channel's
// window, so its write blocks. The step's timeout, SIGINT or SIGTERM ends
// the write (before the fix nothing did and the run hung forever); the
// session is dropped and the undo is sent on a fresh session: the device
// ends clean, nothing pending.
func TestStoppedReading(t *testing.T) {
	big := "show clock " + strings.Repeat("x", 3<<20)
	// Which command number the debug command is: from a run of the same
	// playbook with a short command, without the fault.
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	if _, code := w.run(t, "run", writeStopReadingPlaybook(t, w.dir, "show clock", ""), "-i", w.inventory(), "-t", targetSSH, "--yes", "-o", w.out()); code != 0 {
		t.Fatalf("reference run: exit %d", code)
	}
	debugAt := -1
	for _, e := range fw.dev.Log() {
		if e.CLI == "debug ike global on debug" {
			debugAt = e.Seq
		}
	}
	if debugAt < 0 {
		t.Fatalf("reference run: no debug command in the device's log %v", fw.dev.Log())
	}

	cases := []struct {
		name    string
		timeout string         // the big step's timeout: line
		sig     syscall.Signal // sent once the big step started; 0: none
		code    int
		status  string // the manifest's
		step    string // the big step's
	}{
		{"step timeout", "    timeout: 2s\n", 0, 1, "failed", "timeout"},
		{"SIGINT", "", syscall.SIGINT, 130, "interrupted", "interrupted"},
		{"SIGTERM", "", syscall.SIGTERM, 130, "interrupted", "interrupted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{StopReadingAfter: debugAt}}, sec)
			w := newWorkspace(t, fw, sec)
			pb := writeStopReadingPlaybook(t, w.dir, big, tc.timeout)
			p := w.start(t, "run", pb, "-i", w.inventory(), "-t", targetSSH, "--yes", "-o", w.out())
			if tc.sig != 0 {
				w.waitJournalFunc(t, p, "step-start big", func(e engine.JournalEntry) bool {
					return e.Event == "step-start" && e.Step == "big"
				})
				p.signal(t, tc.sig)
			}
			code := p.wait(t) // bounded by processTimeout: a write nothing cuts hangs here
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr:\n%.2000s", code, tc.code, p.stderr.String())
			}
			m := checkEnded(t, sec, fw, w.runDir(t), code, streamsOf(p))
			if m.Status != tc.status {
				t.Errorf("manifest: status %q, want %q", m.Status, tc.status)
			}
			var bigStatus []string
			for _, s := range m.Steps {
				if s.ID == "big" {
					// Pinned for the timeout only: a signal may land
					// before the write began.
					t.Logf("step big: ...%s", s.Error[max(0, len(s.Error)-200):])
					if tc.sig == 0 && !strings.Contains(s.Error, "command timed out after 2s: the device stopped reading") {
						t.Errorf("step big: error %q does not say the device stopped reading", s.Error)
					}
					bigStatus = append(bigStatus, s.Status)
				}
			}
			if len(bigStatus) != 1 || bigStatus[0] != tc.step {
				t.Errorf("step big: %q, want %q", bigStatus, tc.step)
			}
			if u := undone(m); len(u) != 1 || u[0] != "debug ike global on normal" {
				t.Errorf("undo done: %q", u)
			}
			// The undo went out on a second session: the first one, whose
			// write was cut, was dropped.
			setups := 0
			for _, e := range fw.dev.Log() {
				if e.CLI == "set cli pager off" {
					setups++
				}
			}
			if setups < 2 {
				t.Errorf("the device saw %d session set-ups, want a second one for the undo", setups)
			}
			for _, e := range fw.dev.Log() {
				if strings.HasPrefix(e.CLI, "show clock x") {
					t.Errorf("the device ran the command whose write was cut")
				}
			}
		})
	}
}
