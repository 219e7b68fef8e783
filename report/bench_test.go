package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/peakrss"
	"github.com/runbook-dev/runbook/report"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// writeBig writes a playbook of n command steps (every tenth with an undo,
// every one parsing its output, a finding reading the last step's fields)
// and its cassette into dir, and returns their paths.
func writeBig(b testing.TB, dir string, n int) (pbPath, cassPath string) {
	b.Helper()
	var src strings.Builder
	src.WriteString("name: big\ntitle: End-to-end replay benchmark\nsteps:\n")
	c := &replay.Cassette{Header: replay.Header{Playbook: "big", Target: replay.Target{Name: "fw1", Transport: "ssh"}}}
	// Written by us for this benchmark, in the layout of `show vpn flow
	// tunnel-id` (seed/samples); only its size matters here.
	out := "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"
	var undo []replay.Exchange
	for i := range n {
		cmd := fmt.Sprintf("show vpn flow tunnel-id %d", i)
		fmt.Fprintf(&src, "  - id: s%d\n    run: %s\n    parse: keyvalue\n", i, cmd)
		if i%10 == 0 {
			fmt.Fprintf(&src, "    undo: debug off %d\n", i)
			undo = append([]replay.Exchange{{Command: fmt.Sprintf("debug off %d", i), Duration: time.Millisecond}}, undo...)
		}
		c.Exchanges = append(c.Exchanges, replay.Exchange{Command: cmd, Output: out, Duration: 50 * time.Millisecond})
	}
	c.Exchanges = append(c.Exchanges, undo...)
	pbPath = filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(pbPath, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cassPath = filepath.Join(dir, "big.cassette.yaml")
	if err := replay.Save(cassPath, c); err != nil {
		b.Fatal(err)
	}
	return pbPath, cassPath
}

// runDir is where the run folders go: RUNBOOK_BENCH_DIR, else /dev/shm
// (tmpfs) when it exists, else the test's temp dir.
func runDir(b *testing.B) (string, string) {
	b.Helper()
	if d := os.Getenv("RUNBOOK_BENCH_DIR"); d != "" {
		return d, d
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "runbook-bench-")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d, "tmpfs /dev/shm"
		}
	}
	return b.TempDir(), "t.TempDir"
}

// BenchmarkReplayEndToEnd replays a playbook of 1k and 10k steps end to
// end as `runbook run` does: load the playbook and the cassette from disk,
// run (journal, steps/, manifest, summary.md), then write report.html. It
// reports µs per step, and the peak RSS (VmHWM, reset before each size) and
// peak heap in use during the runs: both should stay flat from 1k to 10k.
//
//	go test ./report -run '^$' -bench ReplayEndToEnd -benchmem
func BenchmarkReplayEndToEnd(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			src := b.TempDir()
			pbPath, cassPath := writeBig(b, src, n)
			out, where := runDir(b)
			b.Logf("run folders on %s", where)
			runtime.GC()
			peakrss.Reset()
			stop := sampleHeap()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pb, err := playbook.Load(pbPath)
				if err != nil {
					b.Fatal(err)
				}
				c, err := replay.Open(cassPath) // as runbook run --transport replay does
				if err != nil {
					b.Fatal(err)
				}
				dir := filepath.Join(out, fmt.Sprintf("%d-%d", n, i))
				r := engine.New(engine.Options{
					Folder:   runfolder.Create,
					Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
					Dir: dir, Yes: true,
					Open: func(context.Context) (transports.Transport, error) {
						return replay.New(c, replay.Options{}), nil
					},
				})
				if res := r.Run(context.Background()); res.ExitCode != 0 {
					b.Fatalf("exit %d: %v", res.ExitCode, res.Err)
				}
				if err := report.WriteDir(dir); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.StopTimer()
			heap := stop()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/step")
			b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// sampleHeap samples HeapInuse every 10ms until the returned func is
// called, which returns the largest sample.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak.Load() }
}
