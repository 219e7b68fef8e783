package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestStoppedInMeet: a case run (two ends, real clock, met through
// fleet.Sync) whose other end is still sending run 1 journals its wait
// to meet it before run 2 (a wait-start of kind meet, with what the
// pause it opens holds back). runbook cleanup, given the folder as it
// was during that wait (the engine killed there), says the run was
// waiting for the other ends, keeps the steps that ran and lists the
// runs not taken; the run stopped (Ctrl-C) in that wait lists the same
// runs in its own manifest, and so does the record rebuilt from its
// folder killed as it ended.
func TestStoppedInMeet(t *testing.T) {
	pb := parsed(t, "meet.yaml", `name: meet
title: Stopped while it waits for the other end
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: tick
    run: show clock
    repeat: {count: 3, interval: 10ms}
`)
	names := []string{"fw1", "fw2"}
	sync := fleet.NewSync(pb, names)
	sync.MaxWait = time.Minute
	dir := t.TempDir()
	clock := replay.Exchange{Command: "show clock", Output: "Fri Jan  2 03:04:06 UTC 2026\n"}
	run := func(ctx context.Context, i int, exchanges []replay.Exchange, opts func(*engine.Options)) *engine.Result {
		tr := replay.New(&replay.Cassette{Exchanges: exchanges}, replay.Options{Pace: 1})
		o := engine.Options{Folder: runfolder.Create, Playbook: pb, Target: names[i], Transport: "replay", Yes: true,
			Dir: filepath.Join(dir, names[i]), Sync: sync.End(i),
			Open: func(context.Context) (transports.Transport, error) { return tr, nil }}
		if opts != nil {
			opts(&o)
		}
		return engine.New(o).Run(ctx)
	}
	// fw2 is still sending run 1 (an answer that takes an hour) when fw1
	// comes to run 2.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	done2 := make(chan *engine.Result, 1)
	go func() {
		slow := clock
		slow.Duration = time.Hour
		done2 <- run(ctx2, 1, []replay.Exchange{{Command: "debug ike global on debug"}, slow, {Command: "debug ike global on normal"}}, nil)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inMeet := filepath.Join(t.TempDir(), "in-meet")
	atEnd := filepath.Join(t.TempDir(), "at-end")
	var waited error
	waitedDone := make(chan struct{})
	res := run(ctx, 0, []replay.Exchange{{Command: "debug ike global on debug"}, clock, {Command: "debug ike global on normal"}}, func(o *engine.Options) {
		o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: atEnd} })
		o.Observer = engine.ObserverFunc(func(e engine.Event) {
			if e.Type != engine.EvStepEnded || e.Step != "tick" {
				return
			}
			// Run 1 taken: fw1 goes to meet fw2 before run 2. Once the
			// journal says so, keep the folder as a kill there would
			// leave it, then stop the run (the first Ctrl-C).
			go func() {
				defer close(waitedDone)
				defer cancel()
				waited = waitForMeet(filepath.Join(dir, names[0]), inMeet)
			}()
		})
	})
	<-waitedDone
	cancel2()
	<-done2
	if waited != nil {
		t.Fatal(waited)
	}
	if res.Status != engine.StatusInterrupted {
		t.Fatalf("status %s exit %d: %v", res.Status, res.ExitCode, res.Err)
	}
	held := func(stopper string) []engine.MissingRecord {
		return []engine.MissingRecord{{Step: "tick", Kind: "run", Run: 2, Command: "show clock", Status: "interrupted",
			Error:  "cut short: " + stopper + " in the pause before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not",
			ByHand: "Run `show clock` on the firewall's CLI 2 more times, 10ms apart, while the problem happens; save each output with the run folder."}}
	}
	m := written(t, res)
	if want := held("the run was interrupted"); !reflect.DeepEqual(m.Missing, want) {
		t.Errorf("the run's missing_evidence\n%+v\nwant\n%+v", m.Missing, want)
	}
	if rm := rebuild(t, atEnd); !reflect.DeepEqual(rm.Missing, m.Missing) {
		t.Errorf("the missing_evidence rebuilt from the folder killed at the end\n%+v\nwant the run's\n%+v", rm.Missing, m.Missing)
	}
	km := rebuild(t, inMeet)
	if want := held("the engine was killed"); !reflect.DeepEqual(km.Missing, want) {
		t.Errorf("the missing_evidence rebuilt from the folder killed in the meeting\n%+v\nwant\n%+v", km.Missing, want)
	}
	var ran []string
	for _, s := range km.Steps {
		ran = append(ran, s.Command+" "+s.Status)
	}
	if want := []string{"debug ike global on debug ok", "show clock ok"}; !slices.Equal(ran, want) {
		t.Errorf("the steps rebuilt %q, want %q", ran, want)
	}
	note := "runbook cleanup: the engine was killed while the run waited for the other targets of its case (to meet the other targets of the case before run 2/3 of show clock), from "
	if !slices.ContainsFunc(km.Notes, func(n string) bool {
		return strings.HasPrefix(n, note) && strings.HasSuffix(n, "; the steps before it ran (in steps), nothing after it did; step tick was paused before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not (listed in the missing evidence)")
	}) {
		t.Errorf("no note that the run was waiting for the other end in %q", km.Notes)
	}
	if want := []string{"debug ike global on normal"}; !slices.Equal(km.CleanupPending, want) {
		t.Errorf("cleanup pending %q, want %q", km.CleanupPending, want)
	}
}

// waitForMeet waits (bounded) until the journal of the run folder dir
// shows the run waiting to meet the other ends before run 2, then copies
// the folder to killed, as a kill there would leave it.
func waitForMeet(dir, killed string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, err := engine.ReadJournal(filepath.Join(dir, engine.JournalFile))
		if err == nil && len(entries) > 0 {
			e := entries[len(entries)-1]
			if e.Event == "wait-start" && e.Kind == "meet" && e.Pause != nil && e.Pause.Run == 2 {
				return os.CopyFS(killed, os.DirFS(dir))
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return os.ErrDeadlineExceeded
}
