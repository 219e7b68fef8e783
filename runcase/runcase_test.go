package runcase_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runcase"
)

// writeRun writes a run folder whose show clock step ran from start for
// 2s and printed clock.
func writeRun(t *testing.T, dir string, start time.Time, clock string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "steps/001-clock.txt"), []byte(clock), 0o644); err != nil {
		t.Fatal(err)
	}
	m := engine.Manifest{Version: 1, Status: "ok", Steps: []engine.StepRecord{
		{Seq: 1, ID: "clock", Kind: "run", Command: "show clock", Start: start, End: start.Add(2 * time.Second), Status: "ok", Output: "steps/001-clock.txt"},
		{Seq: 2, Kind: "run", Command: "show system info", Start: start.Add(3 * time.Second), End: start.Add(4 * time.Second), Status: "ok"},
	}}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBuildOrdersByDeviceClock: fw1's clock is 30s ahead of the engine,
// fw2's 5s behind; the timeline follows the devices' clocks.
func TestBuildOrdersByDeviceClock(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	// Middle of fw1's show clock: 10:00:01 engine; device says 10:00:31.
	writeRun(t, filepath.Join(dir, "fw1"), t0, "Fri Nov 27 10:00:31 UTC 2026\n")
	// fw2 ran 20s later on the engine's clock; middle 10:00:21, device 10:00:16.
	writeRun(t, filepath.Join(dir, "fw2"), t0.Add(20*time.Second), "Fri Nov 27 10:00:16 UTC 2026\n")
	c, err := runcase.Build(dir, "pb", t0, []runcase.Target{{Name: "fw1", Dir: filepath.Join(dir, "fw1")}, {Name: "fw2", Dir: filepath.Join(dir, "fw2")}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{30000, -5000} {
		if got := c.Ends[i].ClockOffsetMS; got == nil || *got != want {
			t.Errorf("%s: offset %v, want %d ms", c.Ends[i].Target, got, want)
		}
	}
	var order []string
	for _, e := range c.Timeline {
		order = append(order, e.Target+"/"+e.DeviceTime.Format("15:04:05"))
	}
	want := []string{"fw2/10:00:15", "fw2/10:00:18", "fw1/10:00:30", "fw1/10:00:33"}
	if len(order) != len(want) {
		t.Fatalf("timeline %q, want %q", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("timeline %q, want %q", order, want)
		}
	}
	if c.Timeline[0].Output != "fw2/steps/001-clock.txt" {
		t.Errorf("output %q, want it relative to the case folder", c.Timeline[0].Output)
	}
}

// TestEvidenceText: a case finding's evidence in one line, values or, for
// an entry that names no field, the end's output files.
func TestEvidenceText(t *testing.T) {
	for _, c := range []struct {
		ev   engine.EvidenceRecord
		want string
	}{
		{engine.EvidenceRecord{End: "a", Target: "fw1", Step: "flow", Item: "12", Field: "encap_packets", Values: []any{100, 5100}}, "a (fw1) flow item 12 encap_packets: 100, 5100"},
		{engine.EvidenceRecord{End: "b", Target: "fw2", Step: "ping", Outputs: []string{"steps/001-ping.txt"}}, "b (fw2) ping: output steps/001-ping.txt"},
		{engine.EvidenceRecord{End: "b", Target: "fw2", Step: "ping"}, "b (fw2) ping: no value"},
	} {
		if got := runcase.EvidenceText(c.ev); got != c.want {
			t.Errorf("EvidenceText(%+v) = %q, want %q", c.ev, got, c.want)
		}
	}
}
