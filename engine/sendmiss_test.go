package engine_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestStoppedInSend: a run stopped (its context cancelled: Ctrl-C) while
// a step of several sends sends one (run 2 of a repeat), stopped between
// two items of a for_each, or ended by a try of an until: that timed out,
// lists the runs (tries, items) of the step it did not take as missing
// evidence in its own manifest: each command, from the one in flight
// (unless it was taken) to the last, how many were taken, how to take
// the rest by hand. A step that says `evidence: false` lists none.
// runbook cleanup, given the folder of the same run killed as it ended,
// rebuilds the same from the journal's step-starts (their plan, run, try
// and item_no): one rule for both.
func TestStoppedInSend(t *testing.T) {
	clock := replay.Exchange{Command: "show clock", Output: "Fri Jan  2 03:04:06 UTC 2026\n"}
	cases := []struct {
		name, playbook string
		exchanges      []replay.Exchange
		// stop says whether the run is stopped at event e.
		stop    func(e engine.Event) bool
		missing []engine.MissingRecord
		// errOf: the missing records' "%ERR%" is the error of this step's
		// last record.
		errOf string
	}{
		{
			name: "repeat",
			playbook: `name: send
title: Stopped while run 2 is sent
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: tick
    run: show clock
    repeat: {count: 3, interval: 1m}
`,
			exchanges: []replay.Exchange{{Command: "debug ike global on debug"}, clock, {Command: "debug ike global on normal"}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "tick" && e.Run == 2 },
			missing: []engine.MissingRecord{{Seq: 3, Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "interrupted",
				Error:  "cut short: the run was interrupted while it sent run 2 of 3: 1 run was taken of its 3, runs 2-3 were not",
				ByHand: "Run `show clock` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder."}},
		},
		{
			name: "for_each, between two items",
			playbook: `name: send
title: Stopped between two items
steps:
  - id: flow
    for_each: '["1", "2", "3"]'
    run: show vpn flow tunnel-id ${item}
`,
			exchanges: []replay.Exchange{{Command: "show vpn flow tunnel-id 1"}, {Command: "show vpn flow tunnel-id 2"}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepEnded && e.Item == "1" },
			missing: []engine.MissingRecord{
				{Step: "flow", Kind: "run", Item: "2", Command: "show vpn flow tunnel-id 2", Status: "interrupted",
					Error:  "cut short: the run was stopped after item `1` was taken: it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI while the problem happens; save its output with the run folder."},
				{Step: "flow", Kind: "run", Item: "3", Command: "show vpn flow tunnel-id 3", Status: "interrupted",
					Error:  "cut short: the run was stopped after item `1` was taken: it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 3` on the firewall's CLI while the problem happens; save its output with the run folder."},
			},
		},
		{
			name: "for_each repeated, item 2 of run 1 in flight",
			playbook: `name: send
title: Stopped while an item is sent
steps:
  - id: flow
    for_each: '["1", "2"]'
    run: show vpn flow tunnel-id ${item}
    repeat: {count: 2, interval: 10s}
`,
			exchanges: []replay.Exchange{{Command: "show vpn flow tunnel-id 1"}, {Command: "show vpn flow tunnel-id 2"}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Item == "2" },
			missing: []engine.MissingRecord{
				{Step: "flow", Kind: "run", Item: "1", Run: 2, Command: "show vpn flow tunnel-id 1", Status: "interrupted",
					Error:  "cut short: the run was interrupted while it sent item `2` of run 1 of 2: 1 run was taken of its 2, run 2 was not",
					ByHand: "Run `show vpn flow tunnel-id 1` on the firewall's CLI 1 more time, 10s apart, while the problem happens; save each output with the run folder."},
				{Seq: 2, Step: "flow", Kind: "run", Item: "2", Run: 1, Command: "show vpn flow tunnel-id 2", Status: "interrupted",
					Error:  "cut short: the run was interrupted while it sent item `2` of run 1 of 2: 0 runs were taken of its 2, runs 1-2 were not",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI 2 more times, 10s apart, while the problem happens; save each output with the run folder."},
			},
		},
		{
			name: "until, try 2 timed out",
			playbook: `name: send
title: A try timed out
steps:
  - id: sa
    run: show vpn ipsec-sa
    timeout: 1s
    until: 'output.text contains "up"'
    retry: {max: 3, interval: 5s}
    repeat: {count: 2, interval: 1m}
`,
			exchanges: []replay.Exchange{{Command: "show vpn ipsec-sa", Output: "down\n"}, {Command: "show vpn ipsec-sa", Output: "up\n", Duration: time.Minute}},
			errOf:     "sa",
			missing: []engine.MissingRecord{{Seq: 2, Step: "sa", Kind: "run", Run: 1, Command: "show vpn ipsec-sa", Status: "timeout",
				Error: "cut short: try 2 of 3 of run 1 of 2 timed out (%ERR%): 1 try was taken of its 3, run 2 was not",
				ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI at most 2 more times, 5s apart, until `output.text contains \"up\"` holds, then the same for 1 more run, 1m0s apart, " +
					"while the problem happens; save each output with the run folder."}},
		},
		{
			name: "evidence false",
			playbook: `name: send
title: Stopped while a step that takes no evidence sends
steps:
  - id: tick
    run: show clock
    evidence: false
    repeat: {count: 3, interval: 1m}
`,
			exchanges: []replay.Exchange{clock},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "tick" && e.Run == 2 },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			killed := filepath.Join(t.TempDir(), "killed")
			stopped := c.stop == nil
			res, _ := runStrict(t, ctx, parsed(t, "send.yaml", c.playbook), map[string]any{}, func(o *engine.Options) {
				o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: killed} })
				o.Observer = engine.ObserverFunc(func(e engine.Event) {
					if c.stop != nil && c.stop(e) {
						stopped = true
						cancel() // the first Ctrl-C
					}
				})
			}, c.exchanges...)
			if !stopped {
				t.Fatal("the run was not stopped")
			}
			if res.Status == engine.StatusOK {
				t.Fatalf("status %s exit %d: %v", res.Status, res.ExitCode, res.Err)
			}
			m := written(t, res)
			want := c.missing
			if c.errOf != "" {
				e := ""
				for _, s := range m.Steps {
					if s.ID == c.errOf {
						e = s.Error
					}
				}
				if e == "" {
					t.Fatalf("step %s has no error", c.errOf)
				}
				want = append([]engine.MissingRecord(nil), want...)
				for k := range want {
					want[k].Error = strings.ReplaceAll(want[k].Error, "%ERR%", e)
				}
			}
			if !reflect.DeepEqual(m.Missing, want) {
				t.Errorf("the run's missing_evidence\n%+v\nwant\n%+v", m.Missing, want)
			}
			rm := rebuild(t, killed)
			if !reflect.DeepEqual(rm.Missing, want) {
				t.Errorf("the missing_evidence runbook cleanup rebuilt\n%+v\nwant the run's\n%+v", rm.Missing, want)
			}
		})
	}
}
