package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// runForEach runs pb against the for_each cassette, strictly in order.
func runForEach(t *testing.T, pb *playbook.Playbook) (*engine.Result, *replay.Transport, string) {
	t.Helper()
	c, err := replay.Load("testdata/foreach-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(map[string]string{"tunnel": "vpn_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tr := replay.New(c, replay.Options{Mode: replay.Strict})
	r := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay", Yes: true, Observer: observe.NewText(&out, false),
		Dir:  filepath.Join(t.TempDir(), "run"),
		Open: func(context.Context) (transports.Transport, error) { return tr, nil },
	})
	return r.Run(context.Background()), tr, out.String()
}

// TestForEach: a for_each step repeated twice sends item1, item2, waits,
// item1, item2; each run's file and manifest record carry its item; the
// items views give each item its own delta; an empty list skips its step.
func TestForEach(t *testing.T) {
	pb, err := playbook.Load("testdata/foreach.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, tr, out := runForEach(t, pb)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v\n%s", res.ExitCode, res.Err, out)
	}
	m := written(t, res)
	want := []string{
		"show vpn ipsec-sa tunnel vpn_TEST",
		"show vpn flow tunnel-id 207",
		"show vpn flow tunnel-id 208",
		"show vpn flow tunnel-id 207",
		"show vpn flow tunnel-id 208",
		"show clock",
	}
	if got := sent(m); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if n := tr.Remaining(); n != 0 {
		t.Errorf("%d exchanges not consumed", n)
	}

	type run struct {
		item   string
		run    int
		output string
	}
	var flows []run
	var flowRecs []engine.StepRecord
	for _, s := range m.Steps {
		if s.ID == "flow" {
			flows = append(flows, run{s.Item, s.Run, s.Output})
			flowRecs = append(flowRecs, s)
		}
	}
	wantFlows := []run{
		{"207", 1, "steps/002-flow-207.txt"},
		{"208", 1, "steps/003-flow-208.txt"},
		{"207", 2, "steps/004-flow-207.txt"},
		{"208", 2, "steps/005-flow-208.txt"},
	}
	if !reflect.DeepEqual(flows, wantFlows) {
		t.Fatalf("flow runs %+v, want %+v", flows, wantFlows)
	}
	for _, f := range wantFlows {
		b, err := os.ReadFile(filepath.Join(res.Dir, f.output))
		if err != nil {
			t.Error(err)
		} else if !strings.Contains(string(b), "id:                     "+f.item) {
			t.Errorf("%s does not hold the output of tunnel id %s:\n%s", f.output, f.item, b)
		}
	}
	// Both items of a run are sampled together; the interval is between runs.
	if gap := flowRecs[1].Start.Sub(flowRecs[0].End); gap >= time.Second {
		t.Errorf("items of one run %s apart, want back to back", gap)
	}
	if gap := flowRecs[2].Start.Sub(flowRecs[1].End); gap < 10*time.Second {
		t.Errorf("runs %s apart, want the 10s interval", gap)
	}

	// The empty list: skipped, with the reason, nothing sent.
	var none *engine.StepRecord
	for i := range m.Steps {
		if m.Steps[i].ID == "none" {
			none = &m.Steps[i]
		}
	}
	if none == nil || none.Status != "skipped" || !strings.Contains(none.Note, "gave no items") {
		t.Errorf("step none: %+v, want skipped because the list is empty", none)
	}

	// Findings: per item, and the mixed delta refused with its reason.
	fired := map[string]engine.FindingRecord{}
	for _, f := range m.Findings {
		fired[f.ID] = f
	}
	ow, ok := fired["one-way"]
	if !ok || ow.Message != "Encrypting but not decrypting on tunnel id 208" {
		t.Errorf("one-way: %+v (fired %v, unevaluated %q)", ow, ok, m.Unevaluated)
	}
	var ev []string
	for _, e := range ow.Evidence {
		ev = append(ev, fmt.Sprintf("%s %s %v %v", e.Item, e.Field, e.Values, e.Outputs))
	}
	// An entry without a field names the item's output files, run by run.
	if want := []string{"207 decap_packets [2000 2150] []", "208 decap_packets [0 0] []",
		"207  [] [steps/002-flow-207.txt steps/004-flow-207.txt]", "208  [] [steps/003-flow-208.txt steps/005-flow-208.txt]"}; !reflect.DeepEqual(ev, want) {
		t.Errorf("evidence %q, want %q", ev, want)
	}
	if _, ok := fired["none-skipped"]; !ok {
		t.Errorf("none-skipped did not fire (unevaluated %q)", m.Unevaluated)
	}
	if _, ok := fired["mixed"]; ok || len(m.Unevaluated) != 1 || !strings.Contains(m.Unevaluated[0], "mixed: ") ||
		!strings.Contains(m.Unevaluated[0], "the step ran for 2 items (for_each)") {
		t.Errorf("mixed delta: fired %v, unevaluated %q", ok, m.Unevaluated)
	}

	// Series: one per item and changed field, and the field a finding
	// names as evidence even when it stayed flat (208's decap_packets);
	// running totals of show vpn flow tunnel-id.
	var series []string
	for _, s := range m.Series {
		series = append(series, fmt.Sprintf("%s/%s/%s %s %v", s.Step, s.Item, s.Field, s.Kind, s.Values))
	}
	wantSeries := []string{
		"flow/207/decap_packets cumulative [2000 2150]", "flow/207/encap_packets cumulative [1000 1100]",
		"flow/208/decap_packets cumulative [0 0]", "flow/208/encap_packets cumulative [500 580]",
	}
	if !reflect.DeepEqual(series, wantSeries) {
		t.Errorf("series %q, want %q", series, wantSeries)
	}

	// The capture saw item; the last run set it.
	if !strings.Contains(out, "captured last_item = 208\n") || strings.Count(out, "captured last_item") != 4 {
		t.Errorf("captures in the output:\n%s", out)
	}

	sum, _ := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
	for _, w := range []string{
		"| 2 | ", "| flow [item 207] | show vpn flow tunnel-id 207 | ok | steps/002-flow-207.txt |",
		"| `one-way` | `flow` [item 208] | `decap_packets` | 0 → 0 |",
		"| `one-way` | `flow` [item 208] | (whole output) | steps/003-flow-208.txt, steps/005-flow-208.txt |",
		"| none | show vpn flow tunnel-id ${item} | skipped (for_each filter(",
	} {
		if !strings.Contains(string(sum), w) {
			t.Errorf("summary.md lacks %q:\n%s", w, sum)
		}
	}

	// The journal says which item each command was for.
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, e := range entries {
		if e.Event == "step-start" && e.Step == "flow" {
			items = append(items, e.Item+" "+e.Command)
		}
	}
	if want := []string{"207 show vpn flow tunnel-id 207", "208 show vpn flow tunnel-id 208", "207 show vpn flow tunnel-id 207", "208 show vpn flow tunnel-id 208"}; !reflect.DeepEqual(items, want) {
		t.Errorf("journal step-start items %q, want %q", items, want)
	}
}

// TestForEachFails: a list beyond the bound, or not a list at run time,
// fails the step, naming it, before its first command.
func TestForEachFails(t *testing.T) {
	tests := []struct{ forEach, want string }{
		{`1..65`, "foreach.yaml:6: step flow: for_each 1..65: 65 items, more than the 64 a step may run for"},
		{`steps.sa.fields.count`, "foreach.yaml:6: step flow: for_each steps.sa.fields.count: want a list, got int64"},
		{`[steps.sa.fields]`, "foreach.yaml:6: step flow: for_each [steps.sa.fields]: item 1 is map[string]interface {}, want a string or a number"},
	}
	for _, tc := range tests {
		t.Run(tc.forEach, func(t *testing.T) {
			pb, err := playbook.Parse("foreach.yaml", []byte(`name: x
title: x
steps:
  - id: sa
    run: show vpn ipsec-sa tunnel ${params.tunnel}
  - id: flow
    run: show vpn flow tunnel-id ${item}
    for_each: '`+tc.forEach+`'
params:
  tunnel: {type: string}
`))
			if err != nil {
				t.Fatal(err)
			}
			pb.Steps[0].Parse = "ipsec-sa"
			res, _, _ := runForEach(t, pb)
			if res.ExitCode != engine.ExitStepFailed || res.Err == nil || res.Err.Error() != tc.want {
				t.Fatalf("exit %d err %v, want %q", res.ExitCode, res.Err, tc.want)
			}
			if got := sent(written(t, res)); !reflect.DeepEqual(got, []string{"show vpn ipsec-sa tunnel vpn_TEST"}) {
				t.Errorf("sent %q", got)
			}
		})
	}
}

// TestForEachRebuiltFromJournal: a run killed mid-way is rebuilt by
// runbook cleanup from its journal, the item of each command included.
func TestForEachRebuiltFromJournal(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	lines := []engine.JournalEntry{
		{Time: t0, Event: "run-start", Target: "fw1", Transport: "replay"},
		{Time: t0, Event: "undo-intent", Seq: 1, Command: "debug ike pcap on", Undo: []engine.Forms{{"debug ike pcap off"}}},
		{Time: t0, Event: "step-start", Seq: 2, Step: "flow", Command: "show vpn flow tunnel-id 207", Item: "207"},
		{Time: t0, Event: "step-end", Seq: 2, Step: "flow", Status: "ok", Item: "207"},
		{Time: t0, Event: "step-start", Seq: 3, Step: "flow", Command: "show vpn flow tunnel-id 208", Item: "208"},
	}
	var b strings.Builder
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(append(j, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(engine.Manifest{Version: 1, Status: "running"})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Exchanges: []replay.Exchange{{Command: "debug ike pcap off"}}}
	tr := replay.New(c, replay.Options{Mode: replay.ByCommand})
	if _, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), func(context.Context) (transports.Transport, error) { return tr, nil }, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := engine.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, s := range got.Steps {
		items = append(items, fmt.Sprintf("%d %s %s %s", s.Seq, s.Item, s.Command, s.Status))
	}
	want := []string{"2 207 show vpn flow tunnel-id 207 ok", "3 208 show vpn flow tunnel-id 208 interrupted"}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("rebuilt steps %q, want %q", items, want)
	}
}
