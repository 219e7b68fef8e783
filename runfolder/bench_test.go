package runfolder_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/cputime"
	"github.com/runbook-dev/runbook/runfolder"
)

// BenchmarkFolderSteps records 10k usual step records (as the engine
// hands them over after each command, the output already written) into a
// run folder on /dev/shm (tmpfs) when it exists, then ends the run with a
// manifest of 1000 undos (every tenth step's): Folder.step and
// Folder.end, without the output files, whose cost is the kernel's. It
// reports µs and CPU µs (every thread) per step.
//
//	go test ./runfolder -run '^$' -bench FolderSteps -benchtime 10x
func BenchmarkFolderSteps(b *testing.B) {
	const n = 10000
	base := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "runbook-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			base = d
		}
	}
	t0 := time.Date(2026, 12, 2, 7, 3, 39, 568889379, time.UTC)
	recs := make([]engine.StepRecord, n)
	m := &engine.Manifest{Version: 1, Target: engine.ManifestTarget{Name: "fw1"}, Started: t0, Status: "ok",
		Params: map[string]any{}, Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}}
	for i := range recs {
		id := fmt.Sprintf("s%d", i)
		recs[i] = engine.StepRecord{Seq: i + 1, ID: id, Kind: "run", Line: 4 + 3*i + (i+9)/10,
			Command: fmt.Sprintf("show vpn flow tunnel-id %d", i), Transport: "replay", Start: t0, End: t0, Status: "ok",
			Output: fmt.Sprintf("steps/%03d-%s.txt", i+1, id), SHA256: "3f2a0c5e4b1d6f7a8c9e0b1a2d3c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"}
		if i%10 == 0 {
			m.Undo = append(m.Undo, engine.CleanupRecord{Command: fmt.Sprintf("debug off %d", i), Status: "ok", Transport: "replay", Output: "steps/undo.txt", Time: t0})
		}
	}
	b.ReportAllocs()
	c := cputime.Process()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(base, fmt.Sprint(i))
		f, err := runfolder.Create(engine.FolderSpec{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		for j := range recs {
			rec := recs[j]
			if err := f.Record(engine.Event{Type: engine.EvStepEnded, Seq: rec.Seq, Write: &engine.FolderWrite{Step: &rec}}); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Record(engine.Event{Type: engine.EvRunEnded, Write: &engine.FolderWrite{Manifest: m}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.StopTimer()
	cpu := cputime.Process() - c
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*n), "µs/step")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N*n), "cpu-µs/step")
}
