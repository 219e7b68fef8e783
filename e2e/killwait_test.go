package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// killWaitPlaybook switches a debug switch on and waits a minute for it to
// collect: the run is killed during that wait.
const killWaitPlaybook = `name: kill-wait
title: A run killed while it waits
steps:
  - id: clock
    run: show clock
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: collect
    wait: 1m
    message: letting the debug collect
  - id: flow
    run: show vpn flow
`

// killPausePlaybook takes the clock three times a minute apart: the run
// is killed in the pause after the first.
const killPausePlaybook = `name: kill-pause
title: A run killed between two runs of a repeat
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: tick
    run: show clock
    repeat: {count: 3, interval: 1m}
`

// killRetryPlaybook waits for a tunnel's SA, trying three times a minute
// apart: the run is killed in the pause after the first try.
const killRetryPlaybook = `name: kill-retry
title: A run killed between two tries
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: sa
    run: show vpn ipsec-sa
    until: 'output.text contains "no such tunnel"'
    retry: {max: 3, interval: 1m}
`

// TestKillWait kills the run (SIGKILL) while it waits, in a wait: step,
// in the pause between two runs of a repeat and in the pause between two
// tries of an until:; `runbook cleanup` then rebuilds the record from the
// step records and the journal, which must say that the run was stopped
// while it waited, when that wait started and how long it was to last:
// in manifest.json (the wait step's record, cut short, and a note), in
// summary.md and in report.html. A wait: step takes no evidence, so none
// is listed as missing; the runs (tries) a pause held back are, with how
// to take them by hand, and the note says so too.
func TestKillWait(t *testing.T) {
	for _, tc := range []struct {
		name, playbook, waiting string
		// step is the record of the wait step the kill cut short; none for
		// a repeat's pause, which has no record of its own.
		step bool
		// steps are the records, kind command => status.
		steps []string
		// says is what the note (and the wait's record) says of the wait.
		says string
		// held is what the note says the pause held back; missing the
		// missing evidence: step (run) command: error | by hand.
		held    string
		missing []string
	}{
		{name: "wait", playbook: killWaitPlaybook, waiting: "waiting 1m0s: letting the debug collect", step: true,
			steps: []string{"run show clock => ok", "run debug ike global on debug => ok", "wait  => interrupted"},
			says:  "the engine was killed during a wait of 1m0s (letting the debug collect), which started at "},
		{name: "pause", playbook: killPausePlaybook, waiting: "waiting 1m0s: next run of show clock (2/3)",
			steps: []string{"run debug ike global on debug => ok", "run show clock => ok"},
			says:  "the engine was killed during a wait of 1m0s (next run of show clock (2/3)), which started at ",
			held:  "; nothing after it ran; step tick was paused before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not (listed in the missing evidence)",
			missing: []string{"tick (2) show clock: cut short: the engine was killed in the pause before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not | " +
				"Run `show clock` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder."}},
		{name: "retry", playbook: killRetryPlaybook, waiting: "waiting 1m0s: retry 2/3 of show vpn ipsec-sa",
			steps: []string{"run debug ike global on debug => ok", "run show vpn ipsec-sa => ok"},
			says:  "the engine was killed during a wait of 1m0s (retry 2/3 of show vpn ipsec-sa), which started at ",
			held:  "; nothing after it ran; step sa was paused before try 2 of 3 (until: `output.text contains \"no such tunnel\"` was not yet true): 1 try was taken of its 3 (listed in the missing evidence)",
			missing: []string{"sa (1) show vpn ipsec-sa: cut short: the engine was killed in the pause before try 2 of 3 (until: `output.text contains \"no such tunnel\"` was not yet true): 1 try was taken of its 3 | " +
				"Run `show vpn ipsec-sa` on the firewall's CLI at most 2 more times, 1m0s apart, until `output.text contains \"no such tunnel\"` holds, while the problem happens; save each output with the run folder."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
			w := newWorkspace(t, fw, sec)
			pb := filepath.Join(w.dir, tc.name+".yaml")
			if err := os.WriteFile(pb, []byte(tc.playbook), 0o644); err != nil {
				t.Fatal(err)
			}
			p := w.start(t, "run", pb, "-i", w.inventory(), "-t", overSSH.target, "--yes", "-o", w.out())
			waitStderr(t, p, tc.waiting)
			dir := w.runDir(t)
			before := time.Now().UTC()
			p.signal(t, syscall.SIGKILL)
			if code := p.wait(t); code != -1 {
				t.Fatalf("exit %d, want killed", code)
			}
			if _, err := os.Stat(filepath.Join(dir, ".steps.jsonl")); err != nil {
				t.Fatalf("the killed run left no .steps.jsonl: the test proves nothing (%v)", err)
			}
			c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
			if code != 0 {
				t.Errorf("cleanup: exit %d, want 0", code)
			}
			m := checkInterrupted(t, fw, dir)
			var got []string
			for _, s := range m.Steps {
				got = append(got, s.Kind+" "+s.Command+" => "+s.Status)
			}
			if !slices.Equal(got, tc.steps) {
				t.Fatalf("steps %q, want %q", got, tc.steps)
			}
			// When the wait started: before the kill, after the step
			// before it.
			var started time.Time
			for _, n := range m.Notes {
				if i := strings.Index(n, tc.says); i >= 0 {
					started, _ = time.Parse(time.RFC3339, strings.Fields(n[i+len(tc.says):])[0])
				}
			}
			if started.IsZero() {
				t.Fatalf("notes %q: none says %q and a time", m.Notes, tc.says)
			}
			prev := m.Steps[len(m.Steps)-1]
			if tc.step {
				prev = m.Steps[len(m.Steps)-2]
			}
			if started.Before(prev.Start.Truncate(time.Second)) || started.After(before) {
				t.Errorf("the wait started at %v: not between the step before it (%v) and the kill (%v)", started, prev.Start, before)
			}
			if tc.step {
				wait := m.Steps[len(m.Steps)-1]
				if wait.ID != "collect" || wait.Note != "wait 1m0s letting the debug collect" || wait.Start.IsZero() ||
					!strings.Contains(wait.Error, tc.says) {
					t.Errorf("the wait the kill cut short: %+v", wait)
				}
				if !wait.Start.Truncate(time.Second).Equal(started) {
					t.Errorf("the wait's record starts at %v, its note says %v", wait.Start, started)
				}
			}
			var missing []string
			for _, x := range m.Missing {
				missing = append(missing, fmt.Sprintf("%s (%d) %s: %s | %s", x.Step, x.Run, x.Command, x.Error, x.ByHand))
			}
			if !slices.Equal(missing, tc.missing) {
				t.Errorf("missing_evidence %q, want %q", missing, tc.missing)
			}
			if tc.held != "" && !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, tc.says) && strings.HasSuffix(n, tc.held) }) {
				t.Errorf("notes %q: none says %q of the pause", m.Notes, tc.held)
			}
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"## Notes", tc.says + started.Format(time.RFC3339)}
			if tc.step {
				want = append(want, "| collect | wait 1m0s letting the debug collect | interrupted |")
			}
			if len(m.Missing) > 0 {
				want = append(want, "## Missing evidence", "  - by hand: "+m.Missing[0].ByHand)
			}
			for _, s := range want {
				if !strings.Contains(string(sum), s) {
					t.Errorf("summary.md has no %q:\n%s", s, sum)
				}
			}
			rep, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(rep), tc.says) {
				t.Errorf("report.html does not say %q", tc.says)
			}
			// The journal of the wait: the cleanup read it, and an engine
			// of this release wrote it.
			entries, err := engine.ReadJournal(filepath.Join(dir, engine.JournalFile))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(entries, func(e engine.JournalEntry) bool { return e.Event == "wait-start" }) {
				t.Error("the journal has no wait-start")
			}
			checkNoSecrets(t, sec, dir, map[string][]byte{"run stdout": p.stdout.Bytes(), "run stderr": p.stderr.Bytes(),
				"cleanup stdout": c.stdout.Bytes(), "cleanup stderr": c.stderr.Bytes()})
		})
	}
}

// TestTimeoutInPause: the run's --timeout passes in the pause between two
// runs of a repeat: the run ends timed out (exit 1) and its own manifest
// lists the runs the pause held back as missing evidence, in the words
// runbook cleanup uses for a pause the kill cut short, with the stopper
// said (the run's --timeout).
func TestTimeoutInPause(t *testing.T) {
	t.Parallel()
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy, Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "pause.yaml")
	if err := os.WriteFile(pb, []byte(killPausePlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, "run", pb, "-i", w.inventory(), "-t", overSSH.target, "--yes", "-o", w.out(), "--timeout", "8s")
	waitStderr(t, p, "waiting 1m0s: next run of show clock (2/3)")
	code := p.wait(t)
	if code != 1 {
		t.Errorf("exit %d, want 1\nstderr:\n%s", code, p.stderr.String())
	}
	m := checkEnded(t, sec, fw, w.runDir(t), code, streamsOf(p))
	if m.Status != "timeout" {
		t.Errorf("manifest: status %q, want timeout", m.Status)
	}
	want := []engine.MissingRecord{{Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "interrupted",
		Error:  "cut short: the run's --timeout passed in the pause before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not",
		ByHand: "Run `show clock` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder."}}
	if !reflect.DeepEqual(m.Missing, want) {
		t.Errorf("missing_evidence\n%+v\nwant\n%+v", m.Missing, want)
	}
}
