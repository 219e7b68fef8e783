package report_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/cputime"
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
	// The cassette is written as it goes, not built whole: a setup that
	// grew the heap would leave the runs measured a heap of its own.
	cassPath = filepath.Join(dir, "big.cassette.yaml")
	w, err := replay.Create(cassPath, replay.Header{Playbook: "big", Target: replay.Target{Name: "fw1", Transport: "ssh"}})
	if err != nil {
		b.Fatal(err)
	}
	// Written by us for this benchmark, in the layout of `show vpn flow
	// tunnel-id` (seed/samples); only its size matters here.
	out := "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"
	var undo []replay.Exchange
	for i := range n {
		cmd := fmt.Sprintf("show vpn flow tunnel-id %d", i)
		fmt.Fprintf(&src, "  - id: s%d\n    run: %s\n    parse: keyvalue\n", i, cmd)
		if i%10 == 0 {
			fmt.Fprintf(&src, "    undo: debug off %d\n", i)
			undo = append(undo, replay.Exchange{Command: fmt.Sprintf("debug off %d", i), Duration: time.Millisecond})
		}
		if err := w.Exchange(replay.Exchange{Command: cmd, Output: out, Duration: 50 * time.Millisecond}); err != nil {
			b.Fatal(err)
		}
	}
	for i := len(undo) - 1; i >= 0; i-- {
		if err := w.Exchange(undo[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	pbPath = filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(pbPath, []byte(src.String()), 0o644); err != nil {
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
// Each iteration also runs a floor on the same file system, timed apart:
// per step only the file-system work a run folder must do for it, with
// plain os calls and no engine code. It creates, writes and closes the
// step's output file (steps/NNN-sI.txt, the cassette's bytes) with
// os.WriteFile, and appends the step's record line to .steps.jsonl and its
// step-start and step-end lines to journal.jsonl, one write each, to files
// opened once per run with O_APPEND as the engine opens them. Those lines
// are built in a reused buffer with the same bytes as the engine's (the
// replay clock's fixed time, the output's real sha256, computed once, not
// per step). The floor does not write the undo lines of every tenth step,
// the manifest, summary.md or report.html, and nothing is synced. x-floor is
// the engine's µs/step over the floor's; the two take turns going first.
// cpu-µs/step and floor-cpu-µs/step are the CPU time (user and system, all
// the process's threads: the engine's own goroutines and the collector)
// each used, and x-floor-cpu their ratio: on a machine shared with other
// work they move less than the wall times.
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
			var floorTime, floorCPU, engineCPU time.Duration
			floor := func(dir string) {
				c := cputime.Process()
				floorTime += floorRun(b, dir, n)
				floorCPU += cputime.Process() - c
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(out, fmt.Sprintf("%d-%d", n, i))
				fdir := filepath.Join(out, fmt.Sprintf("floor-%d-%d", n, i))
				if i%2 == 1 {
					b.StopTimer()
					floor(fdir)
					b.StartTimer()
				}
				c := cputime.Process()
				replayRun(b, pbPath, cassPath, dir)
				engineCPU += cputime.Process() - c
				b.StopTimer()
				if i%2 == 0 {
					floor(fdir)
				}
				os.RemoveAll(dir)
				os.RemoveAll(fdir)
				b.StartTimer()
			}
			b.StopTimer()
			heap := stop()
			engineStep := float64(b.Elapsed().Microseconds()) / float64(b.N*n)
			floorStep := float64(floorTime.Microseconds()) / float64(b.N*n)
			b.ReportMetric(engineStep, "µs/step")
			b.ReportMetric(floorStep, "floor-µs/step")
			b.ReportMetric(engineStep/floorStep, "x-floor")
			if floorCPU > 0 {
				perStep := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*n) }
				b.ReportMetric(perStep(engineCPU), "cpu-µs/step")
				b.ReportMetric(perStep(floorCPU), "floor-cpu-µs/step")
				b.ReportMetric(float64(engineCPU)/float64(floorCPU), "x-floor-cpu")
			}
			b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkWriteDir writes report.html of a run folder of 10k steps
// (writeBig's, replayed once on runDir's file system), alone: the part of
// BenchmarkReplayEndToEnd that reads the steps back. It reports µs and CPU
// µs (every thread) per step.
//
//	go test ./report -run '^$' -bench WriteDir -benchtime 20x
func BenchmarkWriteDir(b *testing.B) {
	const n = 10000
	pbPath, cassPath := writeBig(b, b.TempDir(), n)
	out, where := runDir(b)
	b.Logf("run folder on %s", where)
	dir := filepath.Join(out, "run")
	replayRun(b, pbPath, cassPath, dir)
	b.Cleanup(func() { os.RemoveAll(dir) })
	runtime.GC()
	b.ReportAllocs()
	c := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		if err := report.WriteDir(dir); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cputime.Process() - c
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*n), "µs/step")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N*n), "cpu-µs/step")
}

// replayRun runs the playbook pbPath against the cassette cassPath into
// the run folder dir, as `runbook run --transport replay` does, then
// writes its report.html.
func replayRun(tb testing.TB, pbPath, cassPath, dir string) {
	tb.Helper()
	pb, err := playbook.Load(pbPath)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := replay.Open(cassPath)
	if err != nil {
		tb.Fatal(err)
	}
	r := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
		Dir: dir, Yes: true,
		Open: func(context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{}), nil
		},
	})
	if res := r.Run(context.Background()); res.ExitCode != 0 {
		tb.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	if err := report.WriteDir(dir); err != nil {
		tb.Fatal(err)
	}
}

// floorOutput is what writeBig's cassette answers to every command.
const floorOutput = "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"

// floorRun does in dir, for n steps, the file-system work of the run
// folder of writeBig's playbook (see BenchmarkReplayEndToEnd), and returns
// how long it took.
func floorRun(b testing.TB, dir string, n int) time.Duration {
	b.Helper()
	sum := sha256.Sum256([]byte(floorOutput))
	sha := hex.EncodeToString(sum[:])
	const ts = `"2026-12-02T07:03:39.568889379Z"`
	out := []byte(floorOutput)
	var name, line []byte
	start := time.Now()
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o755); err != nil {
		b.Fatal(err)
	}
	open := func(name string, mode os.FileMode) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, mode)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	journal, records := open("journal.jsonl", 0o600), open(".steps.jsonl", 0o644)
	write := func(f *os.File, p []byte) {
		if _, err := f.Write(p); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		seq := i + 1
		id := "s" + strconv.Itoa(i)
		cmd := "show vpn flow tunnel-id " + strconv.Itoa(i)
		line = append(line[:0], `{"time":`+ts+`,"event":"step-start","step":"`...)
		line = append(line, id...)
		line = append(line, `","seq":`...)
		line = strconv.AppendInt(line, int64(seq), 10)
		line = append(line, `,"command":"`...)
		line = append(line, cmd...)
		line = append(line, "\"}\n"...)
		write(journal, line)

		name = append(name[:0], dir...)
		name = append(name, "/steps/"...)
		rel := len(name) - len("steps/")
		if seq < 100 {
			name = append(name, '0')
		}
		if seq < 10 {
			name = append(name, '0')
		}
		name = strconv.AppendInt(name, int64(seq), 10)
		name = append(name, '-')
		name = append(name, id...)
		name = append(name, ".txt"...)
		if err := os.WriteFile(string(name), out, 0o644); err != nil {
			b.Fatal(err)
		}

		line = append(line[:0], `{"seq":`...)
		line = strconv.AppendInt(line, int64(seq), 10)
		line = append(line, `,"id":"`...)
		line = append(line, id...)
		line = append(line, `","kind":"run","line":`...)
		line = strconv.AppendInt(line, int64(4+3*i+(i+9)/10), 10)
		line = append(line, `,"command":"`...)
		line = append(line, cmd...)
		line = append(line, `","transport":"replay","start":`+ts+`,"end":`+ts+`,"status":"ok","output":"`...)
		line = append(line, name[rel:]...)
		line = append(line, `","sha256":"`...)
		line = append(line, sha...)
		line = append(line, "\"}\n"...)
		write(records, line)

		line = append(line[:0], `{"time":`+ts+`,"event":"step-end","step":"`...)
		line = append(line, id...)
		line = append(line, `","seq":`...)
		line = strconv.AppendInt(line, int64(seq), 10)
		line = append(line, `,"status":"ok"}`+"\n"...)
		write(journal, line)
	}
	if err := journal.Close(); err != nil {
		b.Fatal(err)
	}
	if err := records.Close(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
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

// TestFloorWritesTheEngineBytes pins that the floor of
// BenchmarkReplayEndToEnd writes what the engine writes for the same
// steps: the same output files, the same step-start and step-end journal
// lines, the same step records (but for the time of day).
func TestFloorWritesTheEngineBytes(t *testing.T) {
	const n = 25
	pbPath, cassPath := writeBig(t, t.TempDir(), n)
	dir, fdir := filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "floor")
	replayRun(t, pbPath, cassPath, dir)
	floorRun(t, fdir, n)

	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	names := func(d string) []string {
		t.Helper()
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, e := range es {
			s = append(s, e.Name()+"\n"+read(filepath.Join(d, e.Name())))
		}
		return s
	}
	if got, want := names(filepath.Join(fdir, "steps")), names(filepath.Join(dir, "steps")); !slices.Equal(got, want) {
		t.Errorf("steps/: floor wrote\n%q\nthe engine\n%q", got, want)
	}

	stamp := regexp.MustCompile(`"20[0-9-]+T[0-9:.]+Z"`)
	lines := func(s string, keep func(string) bool) []string {
		var l []string
		for _, x := range strings.Split(strings.TrimSpace(s), "\n") {
			if keep(x) {
				l = append(l, stamp.ReplaceAllString(x, `"T"`))
			}
		}
		return l
	}
	stepEvent := func(l string) bool {
		return strings.Contains(l, `"event":"step-start"`) || strings.Contains(l, `"event":"step-end"`)
	}
	if got, want := lines(read(filepath.Join(fdir, "journal.jsonl")), stepEvent), lines(read(filepath.Join(dir, "journal.jsonl")), stepEvent); !slices.Equal(got, want) {
		t.Errorf("journal: floor wrote\n%s\nthe engine\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	m, err := runfolder.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range m.Steps {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, stamp.ReplaceAllString(string(b), `"T"`))
	}
	if got := lines(read(filepath.Join(fdir, ".steps.jsonl")), func(string) bool { return true }); !slices.Equal(got, want) {
		t.Errorf("step records: floor wrote\n%s\nthe engine\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
