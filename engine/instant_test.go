package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// deadlineSeer is a replay that says whether it is Instant as told, and
// notes, for each command, whether Run got a deadline.
type deadlineSeer struct {
	*replay.Transport
	instant   bool
	deadlines []bool
}

func (d *deadlineSeer) Instant() bool { return d.instant }

func (d *deadlineSeer) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	_, ok := ctx.Deadline()
	d.deadlines = append(d.deadlines, ok)
	return d.Transport.Run(ctx, cmd)
}

var _ transports.Instant = (*deadlineSeer)(nil)

// TestInstantNoDeadline pins when the engine sends a command without a
// deadline of its timeout: to an Instant transport, for a timeout of at
// least a second, and to no other. A step timeout of 1ns keeps it, and
// times out as it did with a deadline (one that expires before Run begins).
func TestInstantNoDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		instant  bool
		timeout  time.Duration
		deadline bool
		status   engine.Status
	}{
		{"instant", true, 0, false, engine.StatusOK},
		{"instant 1s", true, time.Second, false, engine.StatusOK},
		{"not instant", false, 0, true, engine.StatusOK},
		{"instant 999ms", true, 999 * time.Millisecond, true, engine.StatusOK},
		{"instant 1ns", true, time.Nanosecond, true, engine.StatusFailed},
		{"not instant 1ns", false, time.Nanosecond, true, engine.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seer *deadlineSeer
			res, _ := runIt(t, runCfg{mode: replay.ByCommand, opts: func(o *engine.Options) {
				o.StepTimeout = tc.timeout
				open := o.Open
				o.Open = func(ctx context.Context) (transports.Transport, error) {
					tr, err := open(ctx)
					if err != nil || seer != nil {
						return tr, err
					}
					seer = &deadlineSeer{Transport: tr.(*replay.Transport), instant: tc.instant}
					return seer, nil
				}
			}})
			if res.Status != tc.status {
				t.Fatalf("status %s (%v), want %s", res.Status, res.Err, tc.status)
			}
			if seer == nil || len(seer.deadlines) == 0 {
				t.Fatal("no command sent")
			}
			// The steps' commands come first; undo and cleanup then run
			// within the cleanup's own deadline.
			m := written(t, res)
			steps := 0
			for _, s := range m.Steps {
				if s.Command != "" && s.Status != "skipped" {
					steps++
				}
			}
			for i, got := range seer.deadlines {
				if want := tc.deadline || i >= steps; got != want {
					t.Errorf("command %d (%d of steps): deadline %v, want %v", i+1, steps, got, want)
				}
			}
			if tc.timeout == time.Nanosecond {
				if s := m.Steps[0]; s.Status != "timeout" {
					t.Errorf("first step %s: status %q (%s), want timeout", s.ID, s.Status, s.Error)
				}
			}
		})
	}
}
