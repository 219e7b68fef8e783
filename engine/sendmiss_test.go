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
	cases := []sendCase{
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
			name: "a step sent once, in flight",
			playbook: `name: send
title: Stopped while a step sent once sends
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: sa
    run: show vpn ipsec-sa
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "debug ike global on debug"}, {Command: "show vpn ipsec-sa", Duration: time.Minute}, {Command: "debug ike global on normal"}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "sa" },
			missing: []engine.MissingRecord{{Seq: 2, Step: "sa", Kind: "run", Command: "show vpn ipsec-sa", Status: "interrupted",
				Error:  "cut short: the run was interrupted while it sent its command: it was not taken",
				ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI while the problem happens; save its output with the run folder."}},
		},
		{
			name: "a step sent once with undo, in flight",
			playbook: `name: send
title: Stopped while a step sent once sends
steps:
  - id: debug
    run: debug ike global on debug
    undo: debug ike global on normal
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "debug ike global on debug", Duration: time.Minute}, {Command: "debug ike global on normal"}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "debug" },
			missing: []engine.MissingRecord{{Seq: 1, Step: "debug", Kind: "run", Command: "debug ike global on debug", Status: "interrupted",
				Error:  "cut short: the run was interrupted while it sent its command: it was not taken",
				ByHand: "Run `debug ike global on debug` on the firewall's CLI while the problem happens, then `debug ike global on normal` once the evidence is taken; save its output with the run folder."}},
		},
		{
			name: "a step sent once that takes no evidence, in flight",
			playbook: `name: send
title: Stopped while a step sent once sends
steps:
  - id: sa
    run: show vpn ipsec-sa
    evidence: false
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "show vpn ipsec-sa", Duration: time.Minute}},
			stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "sa" },
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
		t.Run(c.name, func(t *testing.T) { checkSendCase(t, c) })
	}
}

// sendCase is a run whose missing evidence TestStoppedInSend and
// TestFailedInSend pin, in its own manifest and in the one runbook
// cleanup rebuilds from the folder of the same run killed as it ended.
type sendCase struct {
	name, playbook string
	exchanges      []replay.Exchange
	// stop says whether the run is stopped at event e; nil: it is not.
	stop    func(e engine.Event) bool
	missing []engine.MissingRecord
	// errOf: the missing records' "%ERR%" is the error of this step's
	// last record.
	errOf string
	// runErr, when set, is the run's error.
	runErr string
}

// checkSendCase runs c and checks the missing evidence its manifest
// lists and the one runbook cleanup rebuilds.
func checkSendCase(t *testing.T, c sendCase) {
	t.Helper()
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
	if c.runErr != "" && (res.Err == nil || res.Err.Error() != c.runErr) {
		t.Errorf("the run's error %v, want %s", res.Err, c.runErr)
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
}

// TestFailedInSend: a send of a step of several sends (run 2 of a
// repeat, item 2 of a for_each, a try of an until:) that fails and lets
// the run go on (on_error: continue) ends the step there: the runs and
// items after it were not taken either, and are listed with it by the
// rule of a run stopped there (sendMissing), in the run's manifest and
// in the one runbook cleanup rebuilds. A failed send that is all the
// step did not take (the last item of its last run) is listed alone,
// with the device's words, as any failed step; one of a step that says
// `evidence: false` is not listed. A step that fails after a send was
// taken (its until: never held) lists that send with its error, then the
// runs after it; runbook cleanup knows it from the journal's step-failed,
// also when it was the last step.
func TestFailedInSend(t *testing.T) {
	clock := replay.Exchange{Command: "show clock", Output: "Fri Jan  2 03:04:06 UTC 2026\n"}
	fail := func(cmd string) replay.Exchange {
		return replay.Exchange{Command: cmd, Error: &replay.Error{Kind: replay.KindDevice, Message: "unavailable"}}
	}
	cases := []sendCase{
		{
			name: "repeat, run 2 of 3",
			playbook: `name: send
title: Run 2 fails
steps:
  - id: tick
    run: show clock
    repeat: {count: 3, interval: 1m}
    on_error: continue
  - run: show system info
`,
			exchanges: []replay.Exchange{clock, fail("show clock"), {Command: "show system info"}},
			errOf:     "tick",
			missing: []engine.MissingRecord{{Seq: 2, Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "failed",
				Error:  "cut short: run 2 of 3 failed (%ERR%): 1 run was taken of its 3, runs 2-3 were not",
				ByHand: "Run `show clock` on the firewall's CLI 2 more times, 1m0s apart, while the problem happens; save each output with the run folder."}},
		},
		{
			name: "for_each, item 2 of 3",
			playbook: `name: send
title: Item 2 fails
steps:
  - id: flow
    for_each: '["1", "2", "3"]'
    run: show vpn flow tunnel-id ${item}
    on_error: continue
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "show vpn flow tunnel-id 1"}, fail("show vpn flow tunnel-id 2"), clock},
			errOf:     "flow",
			runErr:    "1 step failed: evidence missing from flow [item 2], flow [item 3]",
			missing: []engine.MissingRecord{
				{Seq: 2, Step: "flow", Kind: "run", Item: "2", Command: "show vpn flow tunnel-id 2", Status: "failed",
					Error:  "cut short: item `2` failed (%ERR%): it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI while the problem happens; save its output with the run folder."},
				{Step: "flow", Kind: "run", Item: "3", Command: "show vpn flow tunnel-id 3", Status: "failed",
					Error:  "cut short: item `2` failed (%ERR%): it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 3` on the firewall's CLI while the problem happens; save its output with the run folder."},
			},
		},
		{
			name: "for_each repeated, item 1 of run 2",
			playbook: `name: send
title: Item 1 of run 2 fails
steps:
  - id: flow
    for_each: '["1", "2"]'
    run: show vpn flow tunnel-id ${item}
    repeat: {count: 3, interval: 10s}
    on_error: continue
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "show vpn flow tunnel-id 1"}, {Command: "show vpn flow tunnel-id 2"}, fail("show vpn flow tunnel-id 1"), clock},
			errOf:     "flow",
			missing: []engine.MissingRecord{
				{Seq: 3, Step: "flow", Kind: "run", Item: "1", Run: 2, Command: "show vpn flow tunnel-id 1", Status: "failed",
					Error:  "cut short: item `1` of run 2 of 3 failed (%ERR%): 1 run was taken of its 3, runs 2-3 were not",
					ByHand: "Run `show vpn flow tunnel-id 1` on the firewall's CLI 2 more times, 10s apart, while the problem happens; save each output with the run folder."},
				{Step: "flow", Kind: "run", Item: "2", Run: 2, Command: "show vpn flow tunnel-id 2", Status: "failed",
					Error:  "cut short: item `1` of run 2 of 3 failed (%ERR%): 1 run was taken of its 3, runs 2-3 were not",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI 2 more times, 10s apart, while the problem happens; save each output with the run folder."},
			},
		},
		{
			name: "until, try 1 of 3",
			playbook: `name: send
title: A try fails
steps:
  - id: sa
    run: show vpn ipsec-sa
    until: 'output.text contains "up"'
    retry: {max: 3, interval: 5s}
    on_error: continue
  - run: show clock
`,
			exchanges: []replay.Exchange{fail("show vpn ipsec-sa"), clock},
			errOf:     "sa",
			missing: []engine.MissingRecord{{Seq: 1, Step: "sa", Kind: "run", Command: "show vpn ipsec-sa", Status: "failed",
				Error:  "cut short: try 1 of 3 failed (%ERR%): 0 tries were taken of its 3",
				ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI at most 3 more times, 5s apart, until `output.text contains \"up\"` holds, while the problem happens; save each output with the run folder."}},
		},
		{
			name: "until never held, run 1 of 2",
			playbook: `name: send
title: The until of run 1 never holds
steps:
  - id: sa
    run: show vpn ipsec-sa
    until: 'output.text contains "up"'
    retry: {max: 2, interval: 5s}
    repeat: {count: 2, interval: 1m}
    on_error: continue
  - run: show clock
`,
			exchanges: []replay.Exchange{{Command: "show vpn ipsec-sa", Output: "down\n"}, {Command: "show vpn ipsec-sa", Output: "down\n"}, clock},
			missing: []engine.MissingRecord{
				{Seq: 2, Step: "sa", Kind: "run", Run: 1, Command: "show vpn ipsec-sa", Status: "failed", Error: `until output.text contains "up": still false after 2 attempts`,
					ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI while the problem happens; save its output with the run folder."},
				{Step: "sa", Kind: "run", Run: 2, Command: "show vpn ipsec-sa", Status: "failed",
					Error:  "cut short: try 2 of 2 of run 1 of 2 was taken, then the step failed (until output.text contains \"up\": still false after 2 attempts): 0 tries were taken of its 2",
					ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI at most 2 more times, 5s apart, until `output.text contains \"up\"` holds, while the problem happens; save each output with the run folder."},
			},
		},
		{
			name: "until never held, the last step",
			playbook: `name: send
title: The until of the last step never holds
steps:
  - id: sa
    run: show vpn ipsec-sa
    until: 'output.text contains "up"'
    retry: {max: 2, interval: 5s}
    on_error: continue
`,
			exchanges: []replay.Exchange{{Command: "show vpn ipsec-sa", Output: "down\n"}, {Command: "show vpn ipsec-sa", Output: "down\n"}},
			missing: []engine.MissingRecord{
				{Seq: 2, Step: "sa", Kind: "run", Command: "show vpn ipsec-sa", Status: "failed", Error: `until output.text contains "up": still false after 2 attempts`,
					ByHand: "Run `show vpn ipsec-sa` on the firewall's CLI while the problem happens; save its output with the run folder."},
			},
		},
		{
			name: "the last run",
			playbook: `name: send
title: The last run fails
steps:
  - id: tick
    run: show clock
    repeat: {count: 2, interval: 1m}
    on_error: continue
  - run: show system info
`,
			exchanges: []replay.Exchange{clock, fail("show clock"), {Command: "show system info"}},
			errOf:     "tick",
			missing: []engine.MissingRecord{{Seq: 2, Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "failed", Error: "%ERR%",
				ByHand: "Run `show clock` on the firewall's CLI while the problem happens; save its output with the run folder."}},
		},
		{
			name: "for_each, item 1 of 2, the last step",
			playbook: `name: send
title: Item 1 of the last step fails
steps:
  - id: flow
    for_each: '["1", "2"]'
    run: show vpn flow tunnel-id ${item}
    on_error: continue
`,
			exchanges: []replay.Exchange{fail("show vpn flow tunnel-id 1")},
			errOf:     "flow",
			missing: []engine.MissingRecord{
				{Seq: 1, Step: "flow", Kind: "run", Item: "1", Command: "show vpn flow tunnel-id 1", Status: "failed",
					Error:  "cut short: item `1` failed (%ERR%): it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 1` on the firewall's CLI while the problem happens; save its output with the run folder."},
				{Step: "flow", Kind: "run", Item: "2", Command: "show vpn flow tunnel-id 2", Status: "failed",
					Error:  "cut short: item `1` failed (%ERR%): it was not taken",
					ByHand: "Run `show vpn flow tunnel-id 2` on the firewall's CLI while the problem happens; save its output with the run folder."},
			},
		},
		{
			name: "the last run of the last step",
			playbook: `name: send
title: The last run of the last step fails
steps:
  - id: tick
    run: show clock
    repeat: {count: 2, interval: 1m}
    on_error: continue
`,
			exchanges: []replay.Exchange{clock, fail("show clock")},
			errOf:     "tick",
			missing: []engine.MissingRecord{{Seq: 2, Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "failed", Error: "%ERR%",
				ByHand: "Run `show clock` on the firewall's CLI while the problem happens; save its output with the run folder."}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkSendCase(t, c) })
	}
}

// TestMissingSteps: the records of one step in a row (its runs and
// items not taken) count one step; records of a step without id count
// one each.
func TestMissingSteps(t *testing.T) {
	for _, c := range []struct {
		steps []string
		want  int
	}{
		{nil, 0},
		{[]string{"flow"}, 1},
		{[]string{"flow", "flow", "flow"}, 1},
		{[]string{"flow", "flow", "sa", "flow"}, 3},
		{[]string{"", ""}, 2},
	} {
		var ms []engine.MissingRecord
		for _, s := range c.steps {
			ms = append(ms, engine.MissingRecord{Step: s})
		}
		if got := engine.MissingSteps(ms); got != c.want {
			t.Errorf("MissingSteps(%q) = %d, want %d", c.steps, got, c.want)
		}
	}
}
