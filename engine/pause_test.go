package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestStoppedInPause: a run stopped (Ctrl-C: its context cancelled) in
// the pause between two runs of a repeat, between two tries of a retry,
// or between two runs of a for_each, lists what the pause held back as
// missing evidence in the manifest it writes itself: each command of the
// step, how many runs (or tries) of how many were taken, how to take the
// rest by hand. A pause before the step's first run (nothing of it taken)
// and a step that says `evidence: false` list none. runbook cleanup, given
// the folder of the same run killed as it ended (its journal's wait-end
// says interrupted; no run-end, manifest.json still running), rebuilds the
// same missing evidence from the journal: one rule for both.
func TestStoppedInPause(t *testing.T) {
	clock := replay.Exchange{Command: "show clock", Output: "Fri Jan  2 03:04:06 UTC 2026\n"}
	cases := []struct {
		name, playbook string
		exchanges      []replay.Exchange
		// stopAt: the run is stopped at the wait whose message has it.
		stopAt  string
		missing []engine.MissingRecord
	}{
		{
			name: "repeat",
			playbook: `name: pause
title: Stopped between two runs
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: tick
    run: show clock
    repeat: {count: 3, interval: 1m}
`,
			exchanges: []replay.Exchange{{Command: "debug ike global on debug"}, clock, {Command: "debug ike global on normal"}},
			stopAt:    "(2/3)",
			missing: []engine.MissingRecord{{Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "interrupted",
				Error:  "cut short: the run was interrupted in the pause before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not",
				ByHand: "Run `show clock` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder."}},
		},
		{
			name: "retry, with undo and one_of",
			playbook: `name: pause
title: Stopped between two tries
steps:
  - id: up
    run:
      one_of:
        - debug ike stat on
        - debug ike global on debug
    undo: debug ike global on normal
    until: 'output.text contains "up"'
    retry: {max: 4, interval: 5s}
    repeat: {count: 2, interval: 1m}
`,
			exchanges: []replay.Exchange{{Command: "debug ike stat on", Error: unknown}, {Command: "debug ike global on debug", Output: "down\n"}, {Command: "debug ike global on normal"}},
			stopAt:    "retry 2/4",
			// The form the device refused is not one to run by hand.
			missing: []engine.MissingRecord{{Step: "up", Kind: "run", Run: 1, Command: "debug ike global on debug", Status: "interrupted",
				Error: "cut short: the run was interrupted in the pause before try 2 of 4 of run 1 of 2 (until: `output.text contains \"up\"` was not yet true): 1 try was taken of its 4, run 2 was not",
				ByHand: "Run `debug ike global on debug` on the firewall's CLI at most 3 more times, 5s apart, until `output.text contains \"up\"` holds, then the same for 1 more run, 1m0s apart, while the problem happens, " +
					"then `debug ike global on normal` once the evidence is taken; save each output with the run folder."}},
		},
		{
			name: "for_each",
			playbook: `name: pause
title: Stopped between two runs of every item
steps:
  - id: flow
    for_each: '["1", "2"]'
    run: show vpn flow tunnel-id ${item}
    repeat: {count: 2, interval: 10s}
`,
			exchanges: []replay.Exchange{{Command: "show vpn flow tunnel-id 1"}, {Command: "show vpn flow tunnel-id 2"}},
			stopAt:    "(2/2)",
			missing: []engine.MissingRecord{
				{Step: "flow", Kind: "run", Item: "1", Run: 2, Command: "show vpn flow tunnel-id 1", Status: "interrupted",
					Error:  "cut short: the run was interrupted in the pause before run 2 of 2: 1 run was taken of its 2, run 2 was not",
					ByHand: "Run `show vpn flow tunnel-id 1` on the firewall's CLI 1 more time, 10s apart, while the problem happens; save each output with the run folder."},
				{Step: "flow", Kind: "run", Item: "2", Run: 2, Command: "show vpn flow tunnel-id 2", Status: "interrupted",
					Error:  "cut short: the run was interrupted in the pause before run 2 of 2: 1 run was taken of its 2, run 2 was not",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI 1 more time, 10s apart, while the problem happens; save each output with the run folder."},
			},
		},
		{
			name: "evidence false",
			playbook: `name: pause
title: Stopped between two runs of a step that takes no evidence
steps:
  - id: tick
    run: show clock
    evidence: false
    repeat: {count: 3, interval: 1m}
`,
			exchanges: []replay.Exchange{clock},
			stopAt:    "(2/3)",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			killed := filepath.Join(t.TempDir(), "killed")
			stopped := false
			res, _ := runStrict(t, ctx, parsed(t, "pause.yaml", c.playbook), map[string]any{}, func(o *engine.Options) {
				o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: killed} })
				o.Observer = engine.ObserverFunc(func(e engine.Event) {
					if e.Type == engine.EvWait && strings.Contains(e.Message, c.stopAt) {
						stopped = true
						cancel() // the first Ctrl-C
					}
				})
			}, c.exchanges...)
			if !stopped {
				t.Fatalf("no wait %q: the run was not stopped in it", c.stopAt)
			}
			if res.Status != engine.StatusInterrupted {
				t.Fatalf("status %s exit %d: %v", res.Status, res.ExitCode, res.Err)
			}
			m := written(t, res)
			if !reflect.DeepEqual(m.Missing, c.missing) {
				t.Errorf("the run's missing_evidence\n%+v\nwant\n%+v", m.Missing, c.missing)
			}
			if len(c.missing) > 0 {
				sum, err := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range []string{"## Missing evidence", "or the run was stopped before they were done (killed while they ran, or in the pause between their runs)", "  - by hand: " + c.missing[0].ByHand} {
					if !strings.Contains(string(sum), w) {
						t.Errorf("summary.md has no %q:\n%s", w, sum)
					}
				}
			}

			rm := rebuild(t, killed)
			if !reflect.DeepEqual(rm.Missing, c.missing) {
				t.Errorf("the missing_evidence runbook cleanup rebuilt\n%+v\nwant the run's\n%+v", rm.Missing, c.missing)
			}
		})
	}
}
