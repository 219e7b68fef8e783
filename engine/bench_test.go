package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// bigPlaybook is a playbook of n command steps, every tenth with an undo,
// every step parsing its output, and its cassette.
func bigPlaybook(b *testing.B, n int) (*playbook.Playbook, *replay.Cassette) {
	b.Helper()
	var src strings.Builder
	src.WriteString("name: big\ntitle: Engine overhead benchmark\nsteps:\n")
	c := &replay.Cassette{Header: replay.Header{Playbook: "big", Target: replay.Target{Name: "fw1", Transport: "ssh"}}}
	out := "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"
	var undo []replay.Exchange
	for i := 0; i < n; i++ {
		cmd := fmt.Sprintf("show vpn flow tunnel-id %d", i)
		fmt.Fprintf(&src, "  - run: %s\n    parse: keyvalue\n", cmd)
		if i%10 == 0 {
			fmt.Fprintf(&src, "    undo: debug off %d\n", i)
			undo = append([]replay.Exchange{{Command: fmt.Sprintf("debug off %d", i), Duration: time.Millisecond}}, undo...)
		}
		c.Exchanges = append(c.Exchanges, replay.Exchange{Command: cmd, Output: out, Duration: 50 * time.Millisecond})
	}
	c.Exchanges = append(c.Exchanges, undo...)
	pb, err := playbook.Parse("big.yaml", []byte(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	return pb, c
}

// BenchmarkEngineStep measures the engine's overhead per replayed step:
// rendering, journal (fsynced), output file, parse, bookkeeping, cleanup.
// Reported per step of a 1,000-step playbook.
func BenchmarkEngineStep(b *testing.B) {
	const steps = 1000
	pb, c := bigPlaybook(b, steps)
	dir := b.TempDir()
	if d := os.Getenv("RUNBOOK_BENCH_DIR"); d != "" {
		dir = d
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := engine.New(engine.Options{
			Folder:   runfolder.Create,
			Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
			Dir: filepath.Join(dir, fmt.Sprint(i)), Yes: true,
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{}), nil
			},
		})
		if res := r.Run(context.Background()); res.ExitCode != 0 {
			b.Fatalf("exit %d: %v", res.ExitCode, res.Err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*steps), "µs/step")
}

// BenchmarkEngineMemory reports the heap a finished 1,000-step run still
// holds per step, with its Result and its Runner alive: no step record
// (they are in the run folder) and no output (no expression reads these
// steps, so none is kept). Each output here is 118 bytes.
func BenchmarkEngineMemory(b *testing.B) {
	const steps = 1000
	pb, c := bigPlaybook(b, steps)
	dir := b.TempDir()
	var retained float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := engine.New(engine.Options{
			Folder:   runfolder.Create,
			Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
			Dir: filepath.Join(dir, fmt.Sprint(i)), Yes: true,
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{}), nil
			},
		})
		res := r.Run(context.Background())
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(res)
		runtime.KeepAlive(r)
		retained += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	}
	b.ReportMetric(retained/float64(b.N*steps), "retained-B/step")
}
