package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/sim"
)

// killSendPlaybook switches a debug switch on and reads two tunnels'
// flows twice: the device holds the second tunnel's command of the first
// run while the run is killed.
const killSendPlaybook = `name: kill-send
title: A run killed while a repeat sends
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: flow
    for_each: '["1", "2"]'
    run: show vpn flow tunnel-id ${item}
    repeat: {count: 2, interval: 1m}
`

// TestKillSend kills the run (SIGKILL) while a step of several sends (a
// for_each repeated) sends item 2 of run 1; `runbook cleanup` then lists
// from the journal's step-starts what the step did not take: item 1's
// second run and both runs of item 2 (the one in flight counted as not
// taken), each with how to take it by hand, in manifest.json and
// summary.md; and the undo is sent.
func TestKillSend(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{SlowOn: "show vpn flow tunnel-id 2", SlowBy: hold}}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "kill-send.yaml")
	if err := os.WriteFile(pb, []byte(killSendPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, "run", pb, "-i", w.inventory(), "-t", overSSH.target, "--yes", "-o", w.out())
	dir := w.waitJournal(t, p, "step-start", "show vpn flow tunnel-id 2")
	waitHolding(t, fw)
	p.signal(t, syscall.SIGKILL)
	if code := p.wait(t); code != -1 {
		t.Fatalf("exit %d, want killed", code)
	}
	fw.dev.SetFaults(sim.Faults{})
	if ok, _ := fw.dev.Clean(); ok {
		t.Fatal("device clean right after SIGKILL: the test proves nothing")
	}
	c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
	if code != 0 {
		t.Errorf("cleanup: exit %d, want 0", code)
	}
	checkClean(t, fw.dev)
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	if m.Status != "interrupted" || m.ExitCode != 130 {
		t.Errorf("manifest: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
	}
	var missing []string
	for _, x := range m.Missing {
		missing = append(missing, fmt.Sprintf("%s %s (%d) seq %d %s %s: %s | %s", x.Step, x.Item, x.Run, x.Seq, x.Command, x.Status, x.Error, x.ByHand))
	}
	stopper := "cut short: the engine was killed while it sent item `2` of run 1 of 2: "
	want := []string{
		"flow 1 (2) seq 0 show vpn flow tunnel-id 1 interrupted: " + stopper + "1 run was taken of its 2, run 2 was not | " +
			"Run `show vpn flow tunnel-id 1` on the firewall's CLI 1 more time, 1m0s apart, while the problem happens; save each output with the run folder.",
		"flow 2 (1) seq 3 show vpn flow tunnel-id 2 interrupted: " + stopper + "0 runs were taken of its 2, runs 1-2 were not | " +
			"Run `show vpn flow tunnel-id 2` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder.",
	}
	if !slices.Equal(missing, want) {
		t.Errorf("missing_evidence\n%q\nwant\n%q", missing, want)
	}
	if len(m.Missing) == 0 {
		t.FailNow()
	}
	sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Missing evidence", "  - by hand: " + m.Missing[0].ByHand} {
		if !strings.Contains(string(sum), s) {
			t.Errorf("summary.md has no %q:\n%s", s, sum)
		}
	}
	checkNoSecrets(t, sec, dir, map[string][]byte{"run stdout": p.stdout.Bytes(), "run stderr": p.stderr.Bytes(),
		"cleanup stdout": c.stdout.Bytes(), "cleanup stderr": c.stderr.Bytes()})
}

// stopSendPlaybook switches a debug switch on and reads a tunnel's flow
// once: the device holds that command while the run is stopped.
const stopSendPlaybook = `name: stop-send
title: A run stopped while a step sent once sends
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: flow
    run: show vpn flow tunnel-id 1
  - run: show clock
`

// TestStopSend stops the run (SIGINT, the first Ctrl-C) while a step sent
// once is in flight: the run itself lists that command as missing
// evidence, with how to take it by hand, in manifest.json and
// summary.md; the undo is sent and the device is clean.
func TestStopSend(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{SlowOn: "show vpn flow tunnel-id 1", SlowBy: hold}}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "stop-send.yaml")
	if err := os.WriteFile(pb, []byte(stopSendPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, "run", pb, "-i", w.inventory(), "-t", overSSH.target, "--yes", "-o", w.out())
	dir := w.waitJournal(t, p, "step-start", "show vpn flow tunnel-id 1")
	waitHolding(t, fw)
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t); code != 130 {
		t.Fatalf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
	}
	checkClean(t, fw.dev)
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	if m.Status != "interrupted" || m.ExitCode != 130 {
		t.Errorf("manifest: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
	}
	var missing []string
	for _, x := range m.Missing {
		missing = append(missing, fmt.Sprintf("%s (%d) seq %d %s %s: %s | %s", x.Step, x.Run, x.Seq, x.Command, x.Status, x.Error, x.ByHand))
	}
	want := []string{"flow (0) seq 2 show vpn flow tunnel-id 1 interrupted: cut short: the run was interrupted while it sent its command: it was not taken | " +
		"Run `show vpn flow tunnel-id 1` on the firewall's CLI while the problem happens; save its output with the run folder."}
	if !slices.Equal(missing, want) {
		t.Errorf("missing_evidence\n%q\nwant\n%q", missing, want)
	}
	if len(m.Missing) == 0 {
		t.FailNow()
	}
	sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Missing evidence", "  - by hand: " + m.Missing[0].ByHand} {
		if !strings.Contains(string(sum), s) {
			t.Errorf("summary.md has no %q:\n%s", s, sum)
		}
	}
	checkNoSecrets(t, sec, dir, map[string][]byte{"run stdout": p.stdout.Bytes(), "run stderr": p.stderr.Bytes()})
}
