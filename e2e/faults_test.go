package e2e

// The fault suite (docs/faults.md): every built-in playbook cut at every
// step it sends, by a signal, a connection dropped mid-command and a
// session lost between two commands; signals while debug is on and during
// a repeat's wait, the second and third signal, a step timeout and
// --timeout, the server gone and back and gone for good, SIGKILL then
// `runbook cleanup` twice, a signal during the login, and output piped
// into a process that dies first. Step indexes come from a reference run
// of each playbook, never from the playbook's text.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// hold is how long a held command waits: longer than any case, so that
// only the test (SetFaults) or the run's own cancel lets it go.
const hold = time.Hour

// sweepWorkers is how many sweep cases run at once. A case mostly waits
// (on the simulator, on a held command), so more run than there are
// cores; they are plain subtests run from several goroutines, not
// t.Parallel ones, which -parallel (the number of cores) would bound.
const sweepWorkers = 6

// sweep runs one subtest per step the reference run of each built-in
// playbook sent over over (with -short, or when only a sample is asked
// for, the first, middle and last step), sweepWorkers at a time.
func sweep(t *testing.T, over transportCase, sampled bool, f func(t *testing.T, playbook string, ref *reference, k int)) {
	refs := make([]*reference, len(builtins))
	pool(t, len(builtins), func(i int) {
		t.Run(builtins[i]+"/reference", func(t *testing.T) { refs[i] = referenceRun(t, builtins[i], over) })
	})
	type job struct {
		pb  string
		ref *reference
		k   int
	}
	var jobs []job
	for i, ref := range refs {
		if ref == nil {
			continue
		}
		// Steps that reach the device as no command (an export the XML
		// API pulls) cannot be held or cut by the device: they are
		// listed as skipped.
		var held []int
		for k, st := range ref.steps {
			if st.dev >= 0 {
				held = append(held, k)
			} else {
				jobs = append(jobs, job{builtins[i], ref, k})
			}
		}
		idx := sample(len(held))
		if sampled && len(idx) > 3 {
			idx = []int{0, len(held) / 2, len(held) - 1}
		}
		for _, n := range idx {
			jobs = append(jobs, job{builtins[i], ref, held[n]})
		}
	}
	pool(t, len(jobs), func(i int) {
		j := jobs[i]
		st := j.ref.steps[j.k]
		t.Run(fmt.Sprintf("%s/%02d", j.pb, st.seq), func(t *testing.T) {
			if st.dev < 0 {
				t.Skipf("step %d %q reaches the device as no command (an export the XML API pulls): no fault can hold it", st.seq, st.command)
			}
			f(t, j.pb, j.ref, j.k)
		})
	})
}

// pool calls f(0..n-1) from sweepWorkers goroutines and waits for all.
func pool(t *testing.T, n int, f func(i int)) {
	t.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(sweepWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// sweepCase is one case of a fault sweep: step k (st) of the reference
// run of the playbook pb over over, and a firewall whose faults hit it.
type sweepCase struct {
	over transportCase
	pb   string
	ref  *reference
	k    int
	st   refStep
	sec  secrets
	fw   *firewall
	w    *workspace
}

// sweepFaults runs f, over SSH and over the XML API, for each case sweep
// gives (a sample of steps where sampled says so), against a firewall
// of the playbook's scenario with faults(st) for the case's step.
func sweepFaults(t *testing.T, sampled func(transportCase) bool, faults func(refStep) sim.Faults, f func(t *testing.T, c *sweepCase)) {
	for _, over := range []transportCase{overSSH, overAPI} {
		t.Run(over.name, func(t *testing.T) {
			sweep(t, over, sampled(over), func(t *testing.T, pb string, ref *reference, k int) {
				c := &sweepCase{over: over, pb: pb, ref: ref, k: k, st: ref.steps[k], sec: newSecrets(t)}
				c.fw = startFirewall(t, sim.Options{Scenario: sweepScenario[pb], Seed: 1, Faults: faults(c.st)}, c.sec)
				c.w = newWorkspace(t, c.fw, c.sec)
				f(t, c)
			})
		})
	}
}

// overAPISampled sweeps a sample of steps over the XML API, where a run
// takes seconds (it goes on to its tech-support export).
func overAPISampled(over transportCase) bool { return over.name == overAPI.name }

// TestSweepInterrupt sends SIGINT while each step's command is held by the
// device: exit 130, that step interrupted, every earlier output kept, the
// device clean.
func TestSweepInterrupt(t *testing.T) {
	sweepFaults(t, func(transportCase) bool { return false }, func(st refStep) sim.Faults { return sim.Faults{SlowAfter: st.dev, SlowBy: hold} }, func(t *testing.T, c *sweepCase) {
		st, fw, w := c.st, c.fw, c.w
		p := w.start(t, w.sweepArgs(c.pb, c.over)...)
		dir := w.waitJournalSeq(t, p, st.seq)
		waitHolding(t, fw)
		p.signal(t, syscall.SIGINT)
		code := p.wait(t)
		if code != 130 {
			t.Errorf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
		}
		m := checkEnded(t, c.sec, fw, dir, code, streamsOf(p))
		if m.Status != "interrupted" {
			t.Errorf("manifest: status %q, want interrupted", m.Status)
		}
		if rec, ok := stepBySeq(m, st.seq); !ok || rec.Status != "interrupted" {
			t.Errorf("step %d %q: %+v, want it interrupted", st.seq, st.command, rec)
		}
		checkCollected(t, dir, m, c.ref, st.seq)
	})
}

// TestSweepDrop drops the connection as each step's command arrives (the
// device does not run it): the step fails, or is sent again when the
// device had not read it; cleanup reconnects; the device ends clean.
func TestSweepDrop(t *testing.T) {
	sweepFaults(t, overAPISampled, func(st refStep) sim.Faults { return sim.Faults{DropAfter: st.dev} }, func(t *testing.T, c *sweepCase) {
		st, fw, w := c.st, c.fw, c.w
		p, code := w.run(t, w.sweepArgs(c.pb, c.over)...)
		if code != 0 && code != 1 {
			t.Errorf("exit %d, want 0 or 1", code)
		}
		dir := w.runDir(t)
		m := checkEnded(t, c.sec, fw, dir, code, streamsOf(p))
		if log := fw.dev.Log(); len(log) <= st.dev || log[st.dev].Err != "dropped" || log[st.dev].CLI != st.command {
			t.Fatalf("the device did not drop step %d %q", st.seq, st.command)
		}
		rec, _ := stepBySeq(m, st.seq)
		if rec.Status != "failed" && !(rec.Status == "ok" && strings.Contains(rec.Note, "re-opened session")) {
			t.Errorf("step %d %q: %s %q (%s); want failed, or sent again on a re-opened session", st.seq, st.command, rec.Status, rec.Error, rec.Note)
		}
		checkCollected(t, dir, m, c.ref, st.seq)
	})
}

// TestSweepHangUp loses the session right after each step's command was
// answered, while the client is idle: the next step re-opens it and the
// procedure goes on as if nothing happened (the same commands, statuses
// and exit code as without the fault). Over the XML API the next request
// simply opens a new connection.
func TestSweepHangUp(t *testing.T) {
	sweepFaults(t, overAPISampled, func(st refStep) sim.Faults { return sim.Faults{HangUpAfter: st.dev + 1} }, func(t *testing.T, c *sweepCase) {
		ref, w := c.ref, c.w
		p, code := w.run(t, w.sweepArgs(c.pb, c.over)...)
		if code != ref.exit {
			t.Errorf("exit %d, the run without the fault exited %d", code, ref.exit)
		}
		dir := w.runDir(t)
		m := checkEnded(t, c.sec, c.fw, dir, code, streamsOf(p))
		if got := commands(m); !slices.Equal(got, ref.cmds) {
			t.Errorf("commands differ from the run without the fault:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(ref.cmds, "\n"))
		}
		if c.over.name == overSSH.name && c.k+1 < len(ref.steps) {
			next := ref.steps[c.k+1]
			if rec, _ := stepBySeq(m, next.seq); !strings.Contains(rec.Note, "re-opened session") {
				t.Errorf("step %d %q after the hang-up: note %q, want it sent on a re-opened session", next.seq, next.command, rec.Note)
			}
		}
		checkCollected(t, dir, m, ref, 1<<30)
	})
}

// firstDebug is the index of the first step of the reference run that
// switches a debug or capture switch on (not an off, a delete or a
// clear): from it on, the device is in debug.
func firstDebug(t *testing.T, pb string, over transportCase) (ref *reference, k int) {
	t.Helper()
	ref = referenceRun(t, pb, over)
	for i, st := range ref.steps {
		if st.dev >= 0 && strings.HasPrefix(st.command, "debug ") && !strings.Contains(st.command, " off") &&
			!strings.Contains(st.command, "delete") && !strings.Contains(st.command, "clear") {
			return ref, i
		}
	}
	t.Fatalf("%s sends no debug command", pb)
	return nil, 0
}

// TestSignalsMidRepeat sends SIGTERM and SIGHUP (and SIGINT) while debug
// is on and the run waits between two runs of a repeated step.
func TestSignalsMidRepeat(t *testing.T) {
	for _, over := range []transportCase{overSSH, overAPI} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			t.Run(over.name+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				sec := newSecrets(t)
				fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
				w := newWorkspace(t, fw, sec)
				p := w.start(t, append(w.runArgs("phase2-down", over.target, longInterval), "-p", "repeat=2")...)
				waitStderr(t, p, "waiting "+longInterval+"0s: next run of")
				if ok, _ := fw.dev.Clean(); ok {
					t.Fatal("the run waits between two runs of a step, but no debug switch is on: the case proves nothing")
				}
				p.signal(t, sig)
				code := p.wait(t)
				if code != 130 {
					t.Errorf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
				}
				m := checkEnded(t, sec, fw, w.runDir(t), code, streamsOf(p))
				if m.Status != "interrupted" || len(undone(m)) == 0 {
					t.Errorf("manifest: status %q, undone %q; want interrupted, with undo done", m.Status, undone(m))
				}
				checkPauseMissing(t, m, "the run was interrupted")
			})
		}
	}
}

// checkPauseMissing checks that the missing evidence of m is the second
// run of a repeat (of 2) that the run was stopped before, by stopper (in
// the words of the record): at least one record (one per item of a
// for_each), each cut short in that pause, with how to take it by hand;
// besides, only commands refused over the XML API.
func checkPauseMissing(t *testing.T, m *engine.Manifest, stopper string) {
	t.Helper()
	n := 0
	for _, x := range m.Missing {
		if x.Status == "refused" { // over the XML API: not run, and the run went on
			continue
		}
		n++
		if x.Status != "interrupted" || x.Run != 2 || x.Command == "" || x.Seq != 0 ||
			x.Error != "cut short: "+stopper+" in the pause before run 2 of 2: 1 run was taken of its 2, run 2 was not" ||
			!strings.HasPrefix(x.ByHand, "Run `"+x.Command+"` on the firewall's CLI 1 more time, "+longInterval+"0s apart, while the problem happens") {
			t.Errorf("missing evidence %+v, want the run the pause held back", x)
		}
	}
	if n == 0 {
		t.Errorf("missing_evidence %+v: the run of the repeat the pause held back is not listed", m.Missing)
	}
}

// pendingAtWait starts phase2-down with a long interval and returns once
// it waits between two runs of a repeated step, with what the journal has
// pending then (newest first): the undo commands cleanup will send.
func pendingAtWait(t *testing.T, w *workspace, over transportCase) (*proc, string, []engine.PendingEntry) {
	t.Helper()
	p := w.start(t, append(w.runArgs("phase2-down", over.target, longInterval), "-p", "repeat=2")...)
	waitStderr(t, p, "waiting "+longInterval+"0s: next run of")
	dir := w.runDir(t)
	entries, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pending := engine.Pending(entries)
	if len(pending) < 2 {
		t.Fatalf("want at least two undo commands pending during the wait, got %+v", pending)
	}
	return p, dir, pending
}

// TestSecondSignal: a second SIGINT while cleanup runs (its second undo
// command held by the device) says what is still pending; cleanup then
// finishes, exit 130.
func TestSecondSignal(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	p, dir, pending := pendingAtWait(t, w, overSSH)
	fw.dev.SetFaults(sim.Faults{SlowOn: pending[1].Command, SlowBy: hold})
	p.signal(t, syscall.SIGINT)
	w.waitJournalFunc(t, p, "the first undo done", func(e engine.JournalEntry) bool {
		return e.Event == "cleanup-entry" && e.Key == pending[0].Key.String()
	})
	p.signal(t, syscall.SIGINT)
	waitStderr(t, p, "cleanup is still running these commands:")
	fw.dev.SetFaults(sim.Faults{}) // the held undo command goes through
	code := p.wait(t)
	if code != 130 {
		t.Errorf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
	}
	if listed := engine.ShowForms(pending[1].Forms); !strings.Contains(p.stderr.String(), "  "+listed+"\n") {
		t.Errorf("the second signal did not list %q as pending:\n%s", listed, p.stderr.String())
	}
	m := checkEnded(t, sec, fw, dir, code, streamsOf(p))
	var want []string
	for _, e := range pending {
		want = append(want, e.Command)
	}
	if got := undone(m); !slices.Equal(got, want) {
		t.Errorf("undone %q, want %q", got, want)
	}
}

// TestThirdSignal: a third SIGINT while an undo command is held forces the
// exit (3, with what was not undone and how to finish); `runbook cleanup`
// then finishes, and the rebuilt manifest holds the undo commands the run
// did before it was forced out as well as those cleanup did. A second
// cleanup sends nothing.
func TestThirdSignal(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	p, dir, pending := pendingAtWait(t, w, overSSH)
	fw.dev.SetFaults(sim.Faults{SlowOn: pending[1].Command, SlowBy: hold})
	p.signal(t, syscall.SIGINT)
	w.waitJournalFunc(t, p, "the first undo done", func(e engine.JournalEntry) bool {
		return e.Event == "cleanup-entry" && e.Key == pending[0].Key.String()
	})
	p.signal(t, syscall.SIGINT)
	waitStderr(t, p, "cleanup is still running these commands:")
	p.signal(t, syscall.SIGINT)
	code := p.wait(t)
	fw.dev.SetFaults(sim.Faults{})
	if code != 3 {
		t.Errorf("exit %d, want 3\nstderr:\n%s", code, p.stderr.String())
	}
	for _, want := range []string{"forced exit; these commands were NOT undone", "finish with: runbook cleanup " + dir} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.stderr.String())
		}
	}
	if ok, _ := fw.dev.Clean(); ok {
		t.Fatal("the device is clean after the forced exit: the case proves nothing")
	}
	cleanupTwice(t, w, fw, sec, dir, pending, streamsOf(p))
	// The run listed the repeat it was stopped in as missing; its
	// manifest went with it, and runbook cleanup lists the same.
	m, err := engine.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkPauseMissing(t, m, "the run was interrupted")
}

// cleanupTwice runs `runbook cleanup` on a run folder whose run died with
// pending undo commands: it finishes them, the manifest is complete and
// lists every one of them as done, and a second cleanup sends nothing.
func cleanupTwice(t *testing.T, w *workspace, fw *firewall, sec secrets, dir string, pending []engine.PendingEntry, streams map[string][]byte) {
	t.Helper()
	c1, code := w.run(t, "cleanup", dir, "-i", w.inventory())
	if code != 0 {
		t.Errorf("cleanup: exit %d, want 0", code)
	}
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	checkClean(t, fw.dev)
	if m.Status == "running" || m.ExitCode != 130 {
		t.Errorf("manifest after cleanup: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
	}
	got := undone(m)
	for _, e := range pending {
		if !slices.Contains(got, e.Command) {
			t.Errorf("manifest: undo %q not recorded as done; undone %q", e.Command, got)
		}
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
		t.Errorf("second cleanup sent %d command(s)", len(log)-n)
	}
	streams["cleanup stdout"], streams["cleanup stderr"] = c1.stdout.Bytes(), c1.stderr.Bytes()
	streams["second cleanup stdout"], streams["second cleanup stderr"] = c2.stdout.Bytes(), c2.stderr.Bytes()
	checkNoSecrets(t, sec, dir, streams)
}

// TestKillSweep kills the run (SIGKILL) while the device holds the command
// of the first step, of the first debug command, of the step in the
// middle and of the last step, and during cleanup; `runbook cleanup` then
// finishes from the journal and completes the folder, twice.
func TestKillSweep(t *testing.T) {
	const pb = "phase2-down"
	ref, first := firstDebug(t, pb, overSSH)
	idx := []int{0, first, len(ref.steps) / 2, len(ref.steps) - 1}
	for _, k := range slices.Compact(idx) {
		st := ref.steps[k]
		t.Run(fmt.Sprintf("step-%02d", st.seq), func(t *testing.T) {
			t.Parallel()
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sweepScenario[pb], Seed: 1, Faults: sim.Faults{SlowAfter: st.dev, SlowBy: hold}}, sec)
			w := newWorkspace(t, fw, sec)
			p := w.start(t, w.sweepArgs(pb, overSSH)...)
			dir := w.waitJournalSeq(t, p, st.seq)
			waitHolding(t, fw)
			p.signal(t, syscall.SIGKILL)
			if code := p.wait(t); code != -1 {
				t.Fatalf("exit %d, want killed", code)
			}
			fw.dev.SetFaults(sim.Faults{})
			entries, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			pending := engine.Pending(entries)
			cleanupTwice(t, w, fw, sec, dir, pending, streamsOf(p))
			m, err := engine.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkCollected(t, dir, m, ref, st.seq)
			if rec, ok := stepBySeq(m, st.seq); !ok || rec.Status != "interrupted" {
				t.Errorf("step %d %q, cut by the kill: %+v, want interrupted", st.seq, st.command, rec)
			}
		})
	}
	t.Run("during-cleanup", func(t *testing.T) {
		t.Parallel()
		sec := newSecrets(t)
		fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
		w := newWorkspace(t, fw, sec)
		p, dir, pending := pendingAtWait(t, w, overSSH)
		fw.dev.SetFaults(sim.Faults{SlowOn: pending[1].Command, SlowBy: hold})
		p.signal(t, syscall.SIGINT)
		w.waitJournalFunc(t, p, "the first undo done", func(e engine.JournalEntry) bool {
			return e.Event == "cleanup-entry" && e.Key == pending[0].Key.String()
		})
		p.signal(t, syscall.SIGKILL)
		if code := p.wait(t); code != -1 {
			t.Fatalf("exit %d, want killed", code)
		}
		fw.dev.SetFaults(sim.Faults{})
		cleanupTwice(t, w, fw, sec, dir, pending, streamsOf(p))
	})
}

// faultPlaybook switches one debug switch on (with its undo), then runs a
// step with a one-second timeout and a repeated step: the step timeout
// case holds its command.
const faultPlaybook = `name: fault-timeout
title: A step with its own timeout
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: slow
    run: show clock
    timeout: 1s
  - id: again
    run: show system info
`

// TestTimeouts: a step whose command outlives its own timeout fails as
// timeout (exit 1); a run cut by --timeout ends timeout (exit 1), and the
// step in flight reads timeout, not interrupted. The device ends clean.
func TestTimeouts(t *testing.T) {
	t.Run("step", func(t *testing.T) {
		t.Parallel()
		sec := newSecrets(t)
		fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{SlowOn: "show clock", SlowBy: hold}}, sec)
		w := newWorkspace(t, fw, sec)
		pbFile := filepath.Join(w.dir, "fault-timeout.yaml")
		if err := os.WriteFile(pbFile, []byte(faultPlaybook), 0o644); err != nil {
			t.Fatal(err)
		}
		p, code := w.run(t, "run", pbFile, "-i", w.inventory(), "-t", targetSSH, "--yes", "-o", w.out())
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		dir := w.runDir(t)
		m := checkEnded(t, sec, fw, dir, code, streamsOf(p))
		if m.Status != "failed" {
			t.Errorf("manifest: status %q, want failed", m.Status)
		}
		if got := commands(m); !slices.Equal(got, []string{"debug ike global on debug => ok", "show clock => timeout"}) {
			t.Errorf("steps %q", got)
		}
	})
	for _, over := range []transportCase{overSSH, overAPI} {
		t.Run("run/"+over.name, func(t *testing.T) {
			t.Parallel()
			ref, first := firstDebug(t, "phase2-down", over)
			st := ref.steps[first+1]
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{SlowAfter: st.dev, SlowBy: hold}}, sec)
			w := newWorkspace(t, fw, sec)
			p, code := w.run(t, append(w.sweepArgs("phase2-down", over), "--timeout", "2s")...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			m := checkEnded(t, sec, fw, w.runDir(t), code, streamsOf(p))
			if m.Status != "timeout" {
				t.Errorf("manifest: status %q, want timeout", m.Status)
			}
			var cut []string
			for _, s := range m.Steps {
				if s.Status == "timeout" || s.Status == "interrupted" {
					cut = append(cut, s.Command+" => "+s.Status)
				}
			}
			if len(cut) != 1 || !strings.HasSuffix(cut[0], "=> timeout") {
				t.Errorf("steps cut by --timeout: %q, want one, reading timeout", cut)
			}
		})
	}
}

// TestLoginInterrupted: SIGINT while the SSH login hangs (the gate holds
// the connection): exit 130, not 4; nothing was sent, no folder is kept.
func TestLoginInterrupted(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy}, sec)
	w := newWorkspace(t, fw, sec)
	g := newGate(t, fw.sshPort)
	g.set(gateHold, 0)
	w.writeInventory(t, g.port, fw.apiPort)
	p := w.start(t, w.sweepArgs("phase2-down", overSSH)...)
	g.waitAccepted(t, p, gateHold)
	p.signal(t, syscall.SIGINT)
	code := p.wait(t)
	if code != 130 {
		t.Errorf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
	}
	if n := len(fw.dev.Log()); n != 0 {
		t.Errorf("the device received %d command(s)", n)
	}
	checkNoRunFolder(t, w, p)
	checkStreamsNoSecrets(t, sec, w, streamsOf(p))
}

// TestServerGone loses the session between two runs of a repeated step
// while the server is gone (the gate refuses new connections). Back after
// one refused connection, the run re-opens the session and goes on as
// without the fault. Gone for good, the run fails, cannot undo (exit 3),
// and `runbook cleanup`, once the server is back, finishes; twice.
func TestServerGone(t *testing.T) {
	for _, back := range []bool{true, false} {
		name := map[bool]string{true: "and-back", false: "for-good"}[back]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const pb = "phase2-down"
			ref := referenceRun(t, pb, overSSH)
			// The first run of the first repeated step: the session is
			// lost during the wait that follows it.
			st := ref.steps[repeatedStep(t, ref)]
			sec := newSecrets(t)
			// Hold the first step until the gate is down, so the loss
			// comes with the server gone.
			fw := startFirewall(t, sim.Options{Scenario: sweepScenario[pb], Seed: 1, Faults: sim.Faults{SlowAfter: ref.steps[0].dev, SlowBy: hold}}, sec)
			w := newWorkspace(t, fw, sec)
			g := newGate(t, fw.sshPort)
			w.writeInventory(t, g.port, fw.apiPort)
			p := w.start(t, w.sweepArgs(pb, overSSH)...)
			dir := w.waitJournalSeq(t, p, ref.steps[0].seq)
			upAfter := 0
			if back {
				upAfter = 1
			}
			g.set(gateDown, upAfter)
			fw.dev.SetFaults(sim.Faults{HangUpAfter: st.dev + 1})
			code := p.wait(t)
			t.Logf("stderr:\n%s", p.stderr.String())
			if g.refusals() == 0 {
				t.Fatal("the run never tried to reconnect while the server was gone")
			}
			if back {
				if code != ref.exit {
					t.Errorf("exit %d, the run without the fault exited %d", code, ref.exit)
				}
				m := checkEnded(t, sec, fw, dir, code, streamsOf(p))
				if got := commands(m); !slices.Equal(got, ref.cmds) {
					t.Errorf("commands differ from the run without the fault:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(ref.cmds, "\n"))
				}
				return
			}
			if code != 3 {
				t.Errorf("exit %d, want 3", code)
			}
			if ok, _ := fw.dev.Clean(); ok {
				t.Fatal("the device is clean with the server gone: the case proves nothing")
			}
			m := checkRunFolder(t, dir)
			if len(m.CleanupPending) == 0 || m.ExitCode != 3 {
				t.Errorf("manifest: exit %d, cleanup_pending %q; want 3 and the undo commands", m.ExitCode, m.CleanupPending)
			}
			checkCollected(t, dir, m, ref, st.seq+1)
			entries, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			pending := engine.Pending(entries)
			g.set(gateUp, 0)
			c1, code := w.run(t, "cleanup", dir, "-i", w.inventory())
			if code != 0 {
				t.Errorf("cleanup: exit %d, want 0", code)
			}
			checkClean(t, fw.dev)
			m = checkRunFolder(t, dir)
			checkNothingPending(t, dir, m)
			got := undone(m)
			for _, e := range pending {
				if !slices.Contains(got, e.Command) {
					t.Errorf("manifest: undo %q not recorded as done; undone %q", e.Command, got)
				}
			}
			n := len(fw.dev.Log())
			if _, code := w.run(t, "cleanup", dir, "-i", w.inventory()); code != 0 || len(fw.dev.Log()) != n {
				t.Errorf("second cleanup: exit %d, sent %d command(s)", code, len(fw.dev.Log())-n)
			}
			streams := streamsOf(p)
			streams["cleanup stderr"] = c1.stderr.Bytes()
			checkNoSecrets(t, sec, dir, streams)
		})
	}
}

// TestPipeReaderDies pipes runbook's stdout, stderr or both into a reader
// (as `| tee run.log`) that dies at the signal, before runbook's cleanup
// writes anything: writes to the broken pipe never stop the cleanup, and
// the exit code is the run's (130), not 141. With the signal sent to the
// whole process group, the reader dies of it too.
func TestPipeReaderDies(t *testing.T) {
	cases := []struct {
		name           string
		stdout, stderr bool // piped
		group          bool // the signal goes to the process group
		sig            syscall.Signal
	}{
		{"both/SIGINT", true, true, false, syscall.SIGINT},
		{"both/SIGHUP", true, true, false, syscall.SIGHUP},
		{"both/SIGTERM-group", true, true, true, syscall.SIGTERM},
		{"stdout/SIGINT", true, false, false, syscall.SIGINT},
		{"stderr/SIGINT-group", false, true, true, syscall.SIGINT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ref := referenceRun(t, "phase2-down", overSSH)
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
			w := newWorkspace(t, fw, sec)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(w.dir, "run.log")
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			tee := exec.Command(self)
			tee.Env = append(os.Environ(), readerRole+"="+logFile)
			tee.Stdin = pr
			p := w.startWith(t, func(cmd *exec.Cmd) {
				if c.stdout {
					cmd.Stdout = pw
				}
				if c.stderr {
					cmd.Stderr = pw
				}
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			}, append(w.runArgs("phase2-down", overSSH.target, longInterval), "-p", "repeat=2")...)
			tee.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: p.cmd.Process.Pid}
			if err := tee.Start(); err != nil {
				t.Fatal(err)
			}
			teeDone := make(chan struct{})
			go func() { _ = tee.Wait(); close(teeDone) }()
			t.Cleanup(func() { _ = tee.Process.Kill(); <-teeDone })
			pr.Close()
			pw.Close()
			// With the output piped away, the repeat's wait is read from
			// the journal: the end of the first run of the repeated step.
			rep := ref.steps[repeatedStep(t, ref)]
			dir := w.waitJournalFunc(t, p, "the first run of a repeated step", func(e engine.JournalEntry) bool {
				return e.Event == "step-end" && e.Seq == rep.seq
			})
			if c.group {
				if err := syscall.Kill(-p.cmd.Process.Pid, c.sig); err != nil {
					t.Fatal(err)
				}
			} else {
				// The reader dies first, then runbook gets the signal.
				_ = tee.Process.Kill()
				<-teeDone
				p.signal(t, c.sig)
			}
			code := p.wait(t)
			<-teeDone
			if code != 130 {
				t.Errorf("exit %d, want 130 (141 is death by SIGPIPE)\nstderr:\n%s", code, p.stderr.String())
			}
			logged, _ := os.ReadFile(logFile)
			streams := streamsOf(p)
			streams["run.log"] = logged
			m := checkEnded(t, sec, fw, dir, code, streams)
			if m.Status != "interrupted" || len(undone(m)) == 0 {
				t.Errorf("manifest: status %q, undone %q; want interrupted, with undo done", m.Status, undone(m))
			}
			if !c.stderr && !strings.Contains(p.stderr.String(), "interrupted") {
				t.Errorf("stderr (not piped) does not say the run was interrupted:\n%s", p.stderr.String())
			}
		})
	}
}

// repeatedStep is the index in ref of the first run of the first step
// the reference run repeated: the run waits between two runs after it.
func repeatedStep(t *testing.T, ref *reference) int {
	t.Helper()
	for k := 0; k+1 < len(ref.steps); k++ {
		if st := ref.steps[k]; st.dev >= 0 && ref.steps[k+1].command == st.command {
			return k
		}
	}
	t.Fatal("the playbook repeats no step")
	return 0
}

// waitHolding waits until the device holds the command the fault delays:
// a signal sent before it arrived would let the hold catch the undo
// instead.
func waitHolding(t *testing.T, fw *firewall) {
	t.Helper()
	select {
	case <-fw.dev.Holding():
	case <-time.After(journalTimeout):
		t.Fatalf("the device held no command within %v", journalTimeout)
	}
}
