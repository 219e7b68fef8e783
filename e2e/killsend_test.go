package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/engine"
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
	killHeld(t, fw, p)
	c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
	if code != 0 {
		t.Errorf("cleanup: exit %d, want 0", code)
	}
	m := checkInterrupted(t, fw, dir)
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
	m := checkInterrupted(t, fw, dir)
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

// killMeetPlaybook switches a debug switch on at both ends of a case and
// reads the clock twice, the ends sampled together.
const killMeetPlaybook = `name: kill-meet
title: A case run killed while an end waits for the other
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: tick
    run: show clock
    repeat: {count: 2, interval: 100ms}
case:
  ends: [a, b]
`

// TestKillMeet kills a case run (SIGKILL) while fw-a waits to meet fw-b
// before run 2 of a repeated step (fw-b's device holds its run 1):
// fw-a's journal has the wait (a wait-start of kind meet), so `runbook
// cleanup` of fw-a's folder says the run was waiting for the other
// targets of its case, keeps the steps that ran and lists run 2 as
// missing evidence; the cleanups of both folders leave both devices
// clean.
func TestKillMeet(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	topo := sim.DefaultTopology()
	peer := topo.Mirror()
	a := startFirewall(t, sim.Options{Hostname: "fw-a", Scenario: sim.Healthy, Topology: &topo, Seed: 1}, sec)
	b := startFirewall(t, sim.Options{Hostname: "fw-b", Scenario: sim.Healthy, Topology: &peer, Seed: 2, Faults: sim.Faults{SlowOn: "show clock", SlowBy: hold}}, sec)
	w := &workspace{dir: t.TempDir(), sec: sec, fw: a}
	inv := writePairInventory(t, w.dir, a, b)
	pb := filepath.Join(w.dir, "kill-meet.yaml")
	if err := os.WriteFile(pb, []byte(killMeetPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, "run", pb, "-i", inv, "-t", pairName, "--yes", "-o", w.out())
	dirA := waitMeet(t, p, w.out())
	waitHolding(t, b)
	p.signal(t, syscall.SIGKILL)
	if code := p.wait(t); code != -1 {
		t.Fatalf("exit %d, want killed", code)
	}
	b.dev.SetFaults(sim.Faults{})
	dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(dirA), "*", "journal.jsonl"))
	if len(dirs) != 2 {
		t.Fatalf("want the run folders of both ends, found %q", dirs)
	}
	for _, j := range dirs {
		if _, code := w.run(t, "cleanup", filepath.Dir(j), "-i", inv); code != 0 {
			t.Errorf("cleanup %s: exit %d, want 0", filepath.Dir(j), code)
		}
	}
	checkClean(t, a.dev)
	checkClean(t, b.dev)
	m := checkRunFolder(t, dirA, finished...)
	checkNothingPending(t, dirA, m)
	if m.Status != "interrupted" || m.ExitCode != 130 {
		t.Errorf("manifest: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
	}
	var ran []string
	for _, s := range m.Steps {
		ran = append(ran, s.Command+" "+s.Status)
	}
	if want := []string{"debug ike global on debug ok", "show clock ok"}; !slices.Equal(ran, want) {
		t.Errorf("steps %q, want %q", ran, want)
	}
	note := "runbook cleanup: the engine was killed while the run waited for the other targets of its case (to meet the other targets of the case before run 2/2 of show clock), from "
	if !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.HasPrefix(n, note) }) {
		t.Errorf("no note that the run was waiting for the other end in %q", m.Notes)
	}
	var missing []string
	for _, x := range m.Missing {
		missing = append(missing, fmt.Sprintf("%s (%d) %s %s: %s", x.Step, x.Run, x.Command, x.Status, x.Error))
	}
	want := []string{"tick (2) show clock interrupted: cut short: the engine was killed in the pause before run 2 of 2: 1 run was taken of its 2, run 2 was not"}
	if !slices.Equal(missing, want) {
		t.Errorf("missing_evidence\n%q\nwant\n%q", missing, want)
	}
	sum, err := os.ReadFile(filepath.Join(dirA, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), "waited for the other targets of its case") {
		t.Errorf("summary.md does not say the run was waiting for the other end:\n%s", sum)
	}
}

// waitMeet waits (bounded) until the journal of a run folder of the case
// under out shows the run waiting to meet the other ends before run 2,
// and returns that folder.
func waitMeet(t *testing.T, p *proc, out string) string {
	t.Helper()
	all := func() []string {
		js, _ := filepath.Glob(filepath.Join(out, "*", "*", "journal.jsonl"))
		return js
	}
	return pollJournals(t, p, "a meeting", all, func(entries []engine.JournalEntry) bool {
		if len(entries) == 0 {
			return false
		}
		e := entries[len(entries)-1]
		return e.Event == "wait-start" && e.Kind == "meet" && e.Pause != nil && e.Pause.Run == 2
	})
}
