package report_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestRunHoldsNothingPerStep: the heap live once the last step of a
// replay of 10,000 steps ended is that of 1,000 steps, give or take what
// the run must hold per armed undo (its cleanup ledger, 1,000 entries at
// most here): the playbook's steps, read from the file again as the run
// comes to them, are not held (a run that held them held 7.7 MB more).
// Not timed: the bound is on bytes, after a collection.
func TestRunHoldsNothingPerStep(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 11,000 steps")
	}
	live := map[int]uint64{}
	for _, n := range []int{1000, 10000} {
		dir := t.TempDir()
		pbPath, cassPath := writeBig(t, dir, n)
		pb, err := playbook.Load(pbPath)
		if err != nil {
			t.Fatal(err)
		}
		c, err := replay.Open(cassPath)
		if err != nil {
			t.Fatal(err)
		}
		last := fmt.Sprintf("s%d", n-1)
		run := filepath.Join(dir, "run")
		r := engine.New(engine.Options{
			Folder: runfolder.Create, Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
			Dir: run, Yes: true,
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{}), nil
			},
			Observer: engine.ObserverFunc(func(e engine.Event) {
				if e.Type == engine.EvStepEnded && e.Step == last {
					runtime.GC()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					live[n] = m.HeapAlloc
				}
			}),
		})
		if res := r.Run(context.Background()); res.ExitCode != 0 {
			t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
		}
	}
	const bound = 2 << 20
	t.Logf("live at the last step: %.2f MiB (1k), %.2f MiB (10k)", float64(live[1000])/(1<<20), float64(live[10000])/(1<<20))
	if live[1000] == 0 || live[10000] == 0 {
		t.Fatal("the last step did not end")
	}
	if live[10000] > live[1000]+bound {
		t.Errorf("10,000 steps hold %.2f MiB more than 1,000 at their last step (bound %d MiB): something is held per step",
			float64(live[10000]-live[1000])/(1<<20), bound>>20)
	}
}
