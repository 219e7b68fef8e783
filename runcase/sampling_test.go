package runcase_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runcase"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

const sampledSrc = `name: sampled
title: two ends sampled together
steps:
  - id: flow
    run: show vpn flow
    repeat: {count: 3, interval: 15ms}
  - wait: 10ms
case:
  ends: [a, b]
`

// TestSampleRecordsTheCase: two ends on a real clock (paced replays, one
// slower), met through fleet.Sync: case.json says, per run of flow and
// for the wait, when each end started and the spread; summary.md and
// report.html have the section; the timeline carries the runs.
func TestSampleRecordsTheCase(t *testing.T) {
	pb, err := playbook.Parse("sampled.yaml", []byte(sampledSrc))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := []string{"fw1", "fw2"}
	s := fleet.NewSync(pb, names)
	f := &fleet.Fleet{Parallel: 2}
	for i, n := range names {
		var x []replay.Exchange
		for range 3 {
			x = append(x, replay.Exchange{Command: "show vpn flow", Output: "ok\n", Duration: time.Duration(i) * 20 * time.Millisecond})
		}
		c := &replay.Cassette{Exchanges: x}
		if _, err := f.Add(engine.Options{Folder: runfolder.Create, Playbook: pb, Target: n, Transport: "replay", Yes: true,
			Dir: filepath.Join(dir, n), Sync: s.End(i),
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{Pace: 1}), nil
			}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := f.Run(ctx)
	ts := make([]runcase.Target, len(res))
	for i, r := range res {
		if r.ExitCode != 0 {
			t.Fatalf("%s: exit %d: %v", names[i], r.ExitCode, r.Err)
		}
		ts[i] = runcase.Target{Name: names[i], Dir: r.Dir, Status: string(r.Status)}
	}
	c, err := runcase.Build(dir, pb.Name, time.Now(), ts)
	if err != nil {
		t.Fatal(err)
	}
	c.Sample(dir, s.Ends(), s.Meetings())
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := runcase.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	sp := back.Sampling
	if sp == nil || !slices.Equal(sp.Ends, names) || len(sp.Points) != 4 {
		t.Fatalf("sampling %+v", sp)
	}
	for k, p := range sp.Points {
		kind, run := "repeat", k+1
		if k == 3 {
			kind, run = "wait", 1
		}
		if p.Kind != kind || p.Run != run || len(p.Starts) != 2 || p.SpreadMS == nil || !slices.Equal(p.Met, names) {
			t.Fatalf("point %d: %+v", k, p)
		}
		// Loose: both ends sleep until the same shared start.
		if *p.SpreadMS < 0 || *p.SpreadMS > 10000 {
			t.Errorf("point %d: spread %d ms", k, *p.SpreadMS)
		}
		for _, st := range p.Starts {
			if st.Start.Before(p.At.Add(-time.Millisecond)) {
				t.Errorf("point %d: %s started %s, before the shared start %s", k, st.Target, st.Start, p.At)
			}
		}
	}
	runs := 0
	for _, e := range back.Timeline {
		if e.Step == "flow" && e.Run > 0 {
			runs++
		}
	}
	if runs != 6 {
		t.Errorf("%d runs of flow on the timeline, want 6", runs)
	}
	for _, f := range []string{"summary.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Sampled together (fw1, fw2)") || !strings.Contains(string(b), "flow (repeat)") {
			t.Errorf("%s has no sampling section:\n%s", f, b)
		}
	}
	// Rebuilding (after `runbook cleanup`) keeps it.
	rc, err := runcase.Rebuild(dir)
	if err != nil || rc.Sampling == nil || len(rc.Sampling.Points) != 4 {
		t.Fatalf("rebuilt sampling %+v, %v", rc.Sampling, err)
	}
}
