package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// longInterval makes a run that is still going long after its debug
// switches are on: phase2-down against a healthy tunnel reads the flow
// counters three times, ten minutes apart.
const longInterval = "10m"

// TestInterrupt signals the run once its first debug switch is armed (the
// journal says so), or while a debug command is still in flight (the
// simulator holds it): the undo stack runs, the exit code is 130, and the
// device is clean.
func TestInterrupt(t *testing.T) {
	// slow holds `debug ike global on debug` for a minute: the signal
	// comes while it is in flight, after its undo was journaled.
	slow := sim.Faults{SlowOn: "debug ike global on debug", SlowBy: time.Minute}
	cases := []struct {
		name   string
		over   transportCase
		sig    syscall.Signal
		faults sim.Faults
		// event and command are the journal entry to wait for.
		event, command string
	}{
		{"ssh/SIGINT", overSSH, syscall.SIGINT, sim.Faults{}, "undo-armed", ""},
		{"ssh/SIGTERM", overSSH, syscall.SIGTERM, sim.Faults{}, "undo-armed", ""},
		{"ssh/SIGINT-mid-command", overSSH, syscall.SIGINT, slow, "undo-intent", slow.SlowOn},
		{"xmlapi/SIGINT", overAPI, syscall.SIGINT, sim.Faults{}, "undo-armed", ""},
		{"xmlapi/SIGTERM", overAPI, syscall.SIGTERM, sim.Faults{}, "undo-armed", ""},
		{"xmlapi/SIGINT-mid-command", overAPI, syscall.SIGINT, slow, "undo-intent", slow.SlowOn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Faults: c.faults}, sec)
			w := newWorkspace(t, fw, sec)
			p := w.start(t, w.runArgs("phase2-down", c.over.target, longInterval)...)
			dir := w.waitJournal(t, p, c.event, c.command)
			if ok, _ := fw.dev.Clean(); ok {
				t.Fatal("the journal says a debug switch is armed, but the device is clean")
			}
			p.signal(t, c.sig)
			code := p.wait(t)
			t.Logf("stderr:\n%s", p.stderr.String())
			if code != 130 {
				t.Errorf("exit %d, want 130", code)
			}
			m := checkRunFolder(t, dir)
			checkNothingPending(t, dir, m)
			checkClean(t, fw.dev)
			checkVia(t, fw.dev, c.over.via)
			checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
			if m.Status != "interrupted" || m.ExitCode != 130 {
				t.Errorf("manifest: status %q exit_code %d, want interrupted 130", m.Status, m.ExitCode)
			}
			if len(m.Undo) == 0 {
				t.Error("manifest: no undo command ran")
			}
			for _, u := range m.Undo {
				if u.Status != "ok" {
					t.Errorf("undo %q: %s (%s)", u.Command, u.Status, u.Error)
				}
			}
			if c.command != "" {
				// The signal must have cut that very command.
				i := slices.IndexFunc(m.Steps, func(s engine.StepRecord) bool { return s.Command == c.command })
				if i < 0 || m.Steps[i].Status != "interrupted" {
					t.Errorf("%q was not the interrupted step: %q", c.command, commands(m))
				}
			}
			if !strings.Contains(p.stderr.String(), "interrupted") {
				t.Error("stderr does not say the run was interrupted")
			}
		})
	}
}

// TestKillThenCleanup kills the run with SIGKILL once a debug switch is
// armed: nothing can undo it then, and the device stays in debug. `runbook
// cleanup RUNDIR` finishes from the journal; a second one has nothing left.
func TestKillThenCleanup(t *testing.T) {
	for _, over := range []transportCase{overSSH, overAPI} {
		t.Run(over.name, func(t *testing.T) {
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy}, sec)
			w := newWorkspace(t, fw, sec)
			p := w.start(t, w.runArgs("phase2-down", over.target, longInterval)...)
			dir := w.waitJournal(t, p, "undo-armed", "")
			p.signal(t, syscall.SIGKILL)
			if code := p.wait(t); code != -1 {
				t.Fatalf("exit %d, want killed by a signal", code)
			}
			if ok, _ := fw.dev.Clean(); ok {
				t.Fatal("device clean right after SIGKILL: the test proves nothing")
			}
			journal, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var pending []string
			for _, e := range engine.Pending(journal) {
				pending = append(pending, e.Command)
			}
			if len(pending) == 0 {
				t.Fatal("nothing pending in the journal of the killed run")
			}
			streams := map[string][]byte{"run stdout": p.stdout.Bytes(), "run stderr": p.stderr.Bytes()}

			c1, code := w.run(t, "cleanup", dir, "-i", w.inventory())
			if code != 0 {
				t.Errorf("cleanup: exit %d, want 0", code)
			}
			if !strings.Contains(c1.stderr.String(), "cleanup finished") {
				t.Errorf("cleanup: stderr does not say it finished:\n%s", c1.stderr.String())
			}
			checkClean(t, fw.dev)
			// runbook cleanup rebuilds the killed run's manifest from the
			// journal and writes its summary.
			m := checkRunFolder(t, dir, finished...)
			if m.Status != "interrupted" || m.ExitCode != 130 {
				t.Errorf("manifest after cleanup: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
			}
			checkNothingPending(t, dir, m)
			var undone []string
			for _, u := range m.Undo {
				if u.Status == "ok" {
					undone = append(undone, u.Command)
				}
			}
			if !slices.Equal(undone, pending) {
				t.Errorf("manifest: undone %q, want what the journal had pending: %q", undone, pending)
			}
			n := len(fw.dev.Log())

			c2, code := w.run(t, "cleanup", dir, "-i", w.inventory())
			if code != 0 {
				t.Errorf("second cleanup: exit %d, want 0", code)
			}
			if !strings.Contains(c2.stderr.String(), "nothing left to clean up") {
				t.Errorf("second cleanup: stderr does not say nothing is left:\n%s", c2.stderr.String())
			}
			if log := fw.dev.Log(); len(log) != n {
				t.Errorf("second cleanup sent %d command(s): %q", len(log)-n, log[n].CLI)
			}
			checkClean(t, fw.dev)
			checkVia(t, fw.dev, over.via)
			streams["cleanup stdout"], streams["cleanup stderr"] = c1.stdout.Bytes(), c1.stderr.Bytes()
			streams["second cleanup stdout"], streams["second cleanup stderr"] = c2.stdout.Bytes(), c2.stderr.Bytes()
			checkNoSecrets(t, sec, dir, streams)
		})
	}
}

// A connection dropped at every step index, over both transports, is
// TestSweepDrop (faults_test.go): its indexes come from a reference run,
// not from a count written here.

// TestUnreachable points the target at a closed port: exit 4, nothing
// reached the device, and the run keeps no folder (nothing was sent).
func TestUnreachable(t *testing.T) {
	for _, over := range []transportCase{overSSH, overAPI} {
		t.Run(over.name, func(t *testing.T) {
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy}, sec)
			w := newWorkspace(t, fw, sec)
			w.writeInventory(t, closedPort(t), closedPort(t))
			p, code := w.run(t, w.runArgs("phase2-down", over.target, "50ms")...)
			if code != 4 {
				t.Errorf("exit %d, want 4", code)
			}
			if n := len(fw.dev.Log()); n != 0 {
				t.Errorf("the device received %d command(s)", n)
			}
			checkNoRunFolder(t, w, p)
			checkStreamsNoSecrets(t, sec, w, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
		})
	}
}

// checkStreamsNoSecrets is checkNoSecrets for a run that wrote no file:
// its output streams, and whatever is under out/.
func checkStreamsNoSecrets(t *testing.T, sec secrets, w *workspace, streams map[string][]byte) {
	t.Helper()
	leaks, _, err := findSecrets(sec, w.out(), streams)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Error(l)
	}
}

// checkNoRunFolder checks that a run that never connected kept no run
// folder and said so.
func checkNoRunFolder(t *testing.T, w *workspace, p *proc) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(w.out(), "*")); len(m) != 0 {
		t.Errorf("a run that never connected left %q", m)
	}
	if !strings.Contains(p.stderr.String(), "nothing was sent to") {
		t.Errorf("stderr does not say nothing was sent:\n%s", p.stderr.String())
	}
}

// TestLoginRefused gives the run credentials the device does not accept
// (another SSH password, another API key, another keygen password): exit
// 4, no command reached the device, no run folder is kept, and neither the
// wrong nor the right secrets appear anywhere.
func TestLoginRefused(t *testing.T) {
	for _, over := range []transportCase{overSSH, overAPI, overKeygen} {
		t.Run(over.name, func(t *testing.T) {
			right, wrong := newSecrets(t), newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy}, right)
			w := newWorkspace(t, fw, wrong)
			p, code := w.run(t, w.runArgs("phase2-down", over.target, "50ms")...)
			if code != 4 {
				t.Errorf("exit %d, want 4", code)
			}
			if n := len(fw.dev.Log()); n != 0 {
				t.Errorf("the device ran %d command(s) for a refused login", n)
			}
			checkNoRunFolder(t, w, p)
			streams := map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()}
			checkStreamsNoSecrets(t, wrong, w, streams)
			checkStreamsNoSecrets(t, right, w, streams)
		})
	}
}
