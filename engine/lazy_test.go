package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/pbtest"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestPlaybookChangedDuringRun: a long playbook, whose steps are read
// from its file again as the run comes to them, edited while it runs: the
// run stops where the steps no longer read as checked, as on a failed
// step (exit 1, the error says why), and its undo and cleanup still run.
func TestPlaybookChangedDuringRun(t *testing.T) {
	const n = 1100 // more top-level steps than Load holds
	var src strings.Builder
	src.WriteString("name: long\ntitle: Edited while it runs\nsteps:\n")
	c := &replay.Cassette{Header: replay.Header{Playbook: "long", Target: replay.Target{Name: "fw1", Transport: "ssh"}}}
	for i := range n {
		cmd := fmt.Sprintf("show counter %d", i)
		fmt.Fprintf(&src, "  - id: s%d\n    run: %s\n", i, cmd)
		if i == 0 {
			src.WriteString("    undo: debug off\n")
		}
		c.Exchanges = append(c.Exchanges, replay.Exchange{Command: cmd, Output: "ok\n", Duration: time.Millisecond})
	}
	src.WriteString("cleanup:\n  - run: clear all\n")
	c.Exchanges = append(c.Exchanges,
		replay.Exchange{Command: "debug off", Duration: time.Millisecond},
		replay.Exchange{Command: "clear all", Duration: time.Millisecond})
	pb, path := pbtest.LoadLong(t, src.String())
	edited := strings.Replace(src.String(), "show counter 250", "show counter 251", 1)
	o := engine.Options{
		Folder: runfolder.Create, Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay",
		Dir: filepath.Join(t.TempDir(), "run"), Yes: true,
		Open: func(context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
		},
		Observer: engine.ObserverFunc(func(e engine.Event) {
			if e.Type == engine.EvStepEnded && e.Step == "s10" {
				if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
					t.Error(err)
				}
			}
		}),
	}
	res := engine.New(o).Run(context.Background())
	if res.ExitCode != engine.ExitStepFailed || !errors.Is(res.Err, playbook.ErrChanged) {
		t.Fatalf("exit %d, %v; want %d and playbook.ErrChanged", res.ExitCode, res.Err, engine.ExitStepFailed)
	}
	if !strings.Contains(res.Err.Error(), path) {
		t.Errorf("the error does not name the playbook: %v", res.Err)
	}
	m := written(t, res)
	ran := 0
	for _, s := range m.Steps {
		if s.Status == "ok" {
			ran++
		}
	}
	// The steps read before the edit ran (the first batch, and the next
	// when it was read already: one batch ahead), none after.
	if ran != 64 && ran != 128 {
		t.Errorf("%d steps ran, want the 64 of the first batch or the 128 of two", ran)
	}
	if got := sent(m); !strings.Contains(strings.Join(got, "\n"), "undo: debug off\ncleanup: clear all") {
		t.Errorf("undo and cleanup did not run: %q", got[max(0, len(got)-3):])
	}
	if !strings.Contains(m.Error, "playbook changed since it was loaded") {
		t.Errorf("manifest error %q", m.Error)
	}
}
