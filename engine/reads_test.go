package engine_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports/replay"
)

// TestUnreadStepsNotKept: a step that nothing reads and that runs once is
// not kept in memory once it ended, and that costs nothing the run
// reports: the
// finding reading another step's fields fires with its evidence, the
// series of a repeated step nothing reads is drawn, the manifest has
// every step, and the end state of the run (case findings) holds the
// steps read.
func TestUnreadStepsNotKept(t *testing.T) {
	// Written by us, in the layout of `show vpn flow tunnel-id`.
	flow := func(decap int) string {
		return "tunnel  sap-sap\n        id:                     207\n        decap packets:          " + strconv.Itoa(decap) + "\n"
	}
	res, _ := runOneOf(t, `name: reads
title: steps nothing reads
steps:
  - id: first
    run: show vpn flow tunnel-id 207
    parse: keyvalue
  - id: again
    run: show vpn flow tunnel-id 207
    parse: keyvalue
    repeat: {count: 2, interval: 1s}
  - id: last
    run: show vpn flow tunnel-id 207
    parse: keyvalue
findings:
  - id: decap
    severity: info
    when: 'steps.last.fields.decap_packets > 0'
    message: 'decap ${steps.last.fields.decap_packets}'
    evidence:
      - {step: last, field: decap_packets}
`,
		replay.Exchange{Command: "show vpn flow tunnel-id 207", Output: flow(1), Duration: time.Millisecond},
		replay.Exchange{Command: "show vpn flow tunnel-id 207", Output: flow(2), Duration: time.Millisecond},
		replay.Exchange{Command: "show vpn flow tunnel-id 207", Output: flow(3), Duration: time.Millisecond},
		replay.Exchange{Command: "show vpn flow tunnel-id 207", Output: flow(4), Duration: time.Millisecond},
	)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	m := written(t, res)
	if len(m.Steps) != 4 {
		t.Errorf("%d steps in manifest.json, want 4", len(m.Steps))
	}
	if len(m.Findings) != 1 || m.Findings[0].Message != "decap 4" || len(m.Findings[0].Evidence) != 1 ||
		!slices.Equal(m.Findings[0].Evidence[0].Values, []any{float64(4)}) {
		t.Errorf("findings %+v (unevaluated %v)", m.Findings, m.Unevaluated)
	}
	var series []string
	for _, s := range m.Series {
		series = append(series, s.Step+"."+s.Field)
	}
	if !slices.Contains(series, "again.decap_packets") {
		t.Errorf("series %q, want again.decap_packets", series)
	}
	if res.End == nil || len(res.End.Steps) != 1 || !res.End.Steps["last"].OK || res.End.Steps["last"].Fields == nil {
		t.Errorf("end state steps %+v, want last only, with its fields", res.End)
	}
}
