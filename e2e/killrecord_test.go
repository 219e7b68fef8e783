package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/sim"
)

// killRecordPlaybook takes a clock, tries a command this release does not
// take (the run goes on), switches a debug switch on, waits, and reads the
// flows: the device holds that last command while the run is killed.
const killRecordPlaybook = `name: kill-record
title: What a killed run recorded
steps:
  - id: clock
    run: show clock
  - id: nosuch
    run: show vpn nosuch-table
    on_error: continue
  - run: debug ike global on debug
    undo: debug ike global on normal
  - wait: 1s
    message: letting the debug collect
  - id: flow
    run: show vpn flow
`

// TestKillRecord kills the run (SIGKILL) while the device holds its last
// command; `runbook cleanup` then rebuilds the record from the step
// records the run wrote and the journal: every step done before the kill
// as the run recorded it (the wait too; the outputs' sha256 match the
// files), the missing evidence (the step that failed and let the run go
// on, and the one the kill cut short, each with how to take it by hand),
// summary.md and manifest.json complete, the run's leftovers removed, and
// the undo sent to the device.
func TestKillRecord(t *testing.T) {
	for _, over := range []transportCase{overSSH, overAPI} {
		t.Run(over.name, func(t *testing.T) {
			t.Parallel()
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1, Faults: sim.Faults{SlowOn: "show vpn flow", SlowBy: hold}}, sec)
			w := newWorkspace(t, fw, sec)
			pb := filepath.Join(w.dir, "kill-record.yaml")
			if err := os.WriteFile(pb, []byte(killRecordPlaybook), 0o644); err != nil {
				t.Fatal(err)
			}
			p := w.start(t, "run", pb, "-i", w.inventory(), "-t", over.target, "--yes", "-o", w.out())
			dir := w.waitJournal(t, p, "step-start", "show vpn flow")
			waitHolding(t, fw)
			killHeld(t, fw, p)
			for _, f := range []string{".steps.jsonl", ".summary-rows"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Fatalf("the killed run left no %s: the test proves nothing (%v)", f, err)
				}
			}
			n := len(fw.dev.Log())

			c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
			if code != 0 {
				t.Errorf("cleanup: exit %d, want 0", code)
			}
			// The cleanup command reached the device, and only it.
			var sent []string
			for _, e := range fw.dev.Log()[n:] {
				sent = append(sent, e.CLI)
			}
			if !slices.Contains(sent, "debug ike global on normal") {
				t.Errorf("cleanup sent %q, want the undo debug ike global on normal", sent)
			}
			checkVia(t, fw.dev, over.via)
			m := checkInterrupted(t, fw, dir)
			if !strings.Contains(m.Error, "rebuilt it from the step records the run wrote and the journal") {
				t.Errorf("manifest: error %q", m.Error)
			}
			if got := undone(m); !slices.Equal(got, []string{"debug ike global on normal"}) {
				t.Errorf("manifest: undone %q", got)
			}
			for _, f := range []string{".steps.jsonl", ".summary-rows"} {
				if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s left behind after cleanup: %v", f, err)
				}
			}

			// Every step as the run recorded it: its line in the playbook
			// and its transport are in no journal entry.
			var got []string
			for _, s := range m.Steps {
				got = append(got, s.Kind+" "+s.Command+" => "+s.Status)
			}
			want := []string{"run show clock => ok", "run show vpn nosuch-table => failed", "run debug ike global on debug => ok", "wait  => ok", "run show vpn flow => interrupted"}
			if over == overAPI && len(got) > 1 && strings.HasSuffix(got[1], "=> refused") {
				want[1] = "run show vpn nosuch-table => refused"
			}
			if !slices.Equal(got, want) {
				t.Fatalf("steps %q, want %q", got, want)
			}
			for _, s := range m.Steps[:4] {
				if s.Line == 0 {
					t.Errorf("step %q: no line: not the run's record", s.Command)
				}
				if s.Kind == "run" && s.Transport == "" {
					t.Errorf("step %q: no transport: not the run's record", s.Command)
				}
				if s.Kind == "run" && s.Output == "" {
					t.Errorf("step %q: no output file", s.Command)
					continue
				}
				if s.Output == "" {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, s.Output))
				if err != nil {
					t.Fatal(err)
				}
				if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != s.SHA256 {
					t.Errorf("step %q: %s does not match its sha256 %s", s.Command, s.Output, s.SHA256)
				}
				if s.Command == "show clock" && m.DeviceClock != strings.TrimSpace(string(b)) {
					t.Errorf("device_clock %q, the step's output %q", m.DeviceClock, b)
				}
			}
			if wait := m.Steps[3]; !strings.Contains(wait.Note, "letting the debug collect") {
				t.Errorf("wait step: note %q", wait.Note)
			}
			if cut := m.Steps[4]; cut.Output != "" || cut.Line != 0 {
				t.Errorf("the step the kill cut short: %+v, want rebuilt from the journal, with no output", cut)
			}

			// The missing evidence, as a finished run lists it, and the
			// step the kill cut short.
			if len(m.Missing) != 2 {
				t.Fatalf("missing_evidence %+v, want the failed step and the one cut short", m.Missing)
			}
			if x := m.Missing[0]; x.Step != "nosuch" || x.Seq != 2 || x.Command != "show vpn nosuch-table" || x.Error == "" || x.Error != m.Steps[1].Error ||
				!strings.Contains(x.ByHand, "show vpn nosuch-table") {
				t.Errorf("missing_evidence[0] %+v, want the step nosuch with the device's words and how to take it by hand", x)
			}
			if x := m.Missing[1]; x.Step != "flow" || x.Seq != 4 || x.Status != "interrupted" || !strings.Contains(x.Error, "the engine was killed") ||
				x.ByHand != "Run `show vpn flow` on the firewall's CLI while the problem happens; save its output with the run folder." {
				t.Errorf("missing_evidence[1] %+v, want the step flow cut short, with how to take it by hand", x)
			}
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"## Missing evidence", "**nosuch**", "**flow**", "by hand: Run `show vpn flow`", "| show clock | ok | steps/001-clock.txt |",
				"wait 1s letting the debug collect", "`debug ike global on normal`: ok"} {
				if !strings.Contains(string(sum), s) {
					t.Errorf("summary.md has no %q:\n%s", s, sum)
				}
			}
			checkNoSecrets(t, sec, dir, map[string][]byte{"run stdout": p.stdout.Bytes(), "run stderr": p.stderr.Bytes(),
				"cleanup stdout": c.stdout.Bytes(), "cleanup stderr": c.stderr.Bytes()})
		})
	}
}
