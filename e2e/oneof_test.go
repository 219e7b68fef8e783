package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/sim"
)

// oneOfPlaybook switches ikemgr to debug with an undo of two forms, then
// waits long enough to be killed.
const oneOfPlaybook = `name: oneof-kill
title: An undo of two forms, killed mid-run
steps:
  - run: debug ike global on debug
    undo: {one_of: [debug ike global off, debug ike global on normal]}
  - wait: 10m
`

// TestKillThenCleanupTriesEveryForm: the run is killed with an undo of two
// forms armed; the device refuses the first (Invalid syntax.). `runbook
// cleanup` finds both forms in the journal, tries the second and leaves
// the device clean. When the device refuses both, it exits 3 naming each
// form to try by hand; once the device accepts again, a later `runbook
// cleanup` finishes.
func TestKillThenCleanupTriesEveryForm(t *testing.T) {
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Refuse: []sim.Refusal{{Match: `^debug ike global off$`, Error: sim.RefuseInvalid}}}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "oneof.yaml")
	if err := os.WriteFile(pb, []byte(oneOfPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	kill := func(t *testing.T) string {
		t.Helper()
		_ = os.RemoveAll(w.out())
		p := w.start(t, "run", pb, "-i", w.inventory(), "-t", targetSSH, "--yes", "-o", w.out())
		dir := w.waitJournal(t, p, "undo-armed", "")
		p.signal(t, syscall.SIGKILL)
		if code := p.wait(t); code != -1 {
			t.Fatalf("exit %d, want killed by a signal", code)
		}
		if ok, _ := fw.dev.Clean(); ok {
			t.Fatal("device clean right after SIGKILL: the test proves nothing")
		}
		return dir
	}

	t.Run("second form accepted", func(t *testing.T) {
		dir := kill(t)
		c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
		out := c.stderr.String()
		if code != 0 {
			t.Fatalf("cleanup: exit %d, want 0\n%s", code, out)
		}
		for _, want := range []string{"undo: debug ike global off", "refused: Invalid syntax.", "trying form 2 of 2: debug ike global on normal", "cleanup finished"} {
			if !strings.Contains(out, want) {
				t.Errorf("cleanup stderr lacks %q:\n%s", want, out)
			}
		}
		checkClean(t, fw.dev)
		checkNothingPending(t, dir, nil)
	})

	t.Run("every form refused", func(t *testing.T) {
		dir := kill(t)
		fw.dev.SetRefusals([]sim.Refusal{{Match: `^debug ike global `, Error: sim.RefuseInvalid}})
		c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
		out := c.stderr.String()
		if code != 3 {
			t.Fatalf("cleanup: exit %d, want 3\n%s", code, out)
		}
		want := `the device refused all 2 forms; try one by hand: "debug ike global off" (Invalid syntax.); "debug ike global on normal" (Invalid syntax.)`
		if !strings.Contains(out, want) {
			t.Errorf("cleanup stderr lacks %q:\n%s", want, out)
		}
		fw.dev.SetRefusals([]sim.Refusal{{Match: `^debug ike global off$`, Error: sim.RefuseInvalid}})
		c, code = w.run(t, "cleanup", dir, "-i", w.inventory())
		if code != 0 {
			t.Fatalf("cleanup once the device accepts again: exit %d, want 0\n%s", code, c.stderr.String())
		}
		checkClean(t, fw.dev)
		checkNothingPending(t, dir, nil)
	})
}
