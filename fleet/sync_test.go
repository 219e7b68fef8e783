package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// syncSrc repeats one command four times, waits, and asks the operator.
// The replays are paced (real clock), so the ends really wait for each
// other; the commands take 0 to 40 ms, so without meeting the fast end
// would run ahead.
const syncSrc = `name: together
title: sync test
params:
  peer: {type: string, required: true}
  skip: {type: bool, default: false}
steps:
  - id: flow
    run: show counter global filter delta yes
    repeat: {count: 4, interval: 20ms}
  - id: only
    run: show vpn flow
    when: '!params.skip'
    repeat: {count: 3, interval: 10ms}
  - id: settle
    wait: 10ms
  - id: traffic
    prompt: Start traffic towards ${params.peer}, then press Enter.
  - id: go
    prompt: Press Enter once both ends show the SA.
  - run: show clock
`

// paced is a real-clock cassette of the syncSrc commands: each flow run
// takes d; fail makes run failAt of flow a device error.
func paced(d time.Duration, skip bool, failAt int) *replay.Cassette {
	var x []replay.Exchange
	for k := 1; k <= 4; k++ {
		e := replay.Exchange{Command: "show counter global filter delta yes", Output: "ok\n", Duration: d}
		if k == failAt {
			e.Output, e.Error = "", &replay.Error{Kind: replay.KindDevice, Message: "server error"}
		}
		x = append(x, e)
	}
	if !skip {
		for range 3 {
			x = append(x, replay.Exchange{Command: "show vpn flow", Output: "ok\n", Duration: d / 2})
		}
	}
	x = append(x, replay.Exchange{Command: "show clock", Output: "Mon Jan  1 00:00:00 UTC 2024\n"})
	return &replay.Cassette{Exchanges: x}
}

// scripted is the operator: it presses Enter, and counts the questions.
type scripted struct {
	mu  sync.Mutex
	got []string
}

func (p *scripted) Ask(_ context.Context, msg string, _ time.Duration) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, msg)
	return true, nil
}

type end struct {
	name    string
	d       time.Duration
	skip    bool
	failAt  int
	events  []engine.Event
	mu      sync.Mutex
	virtual bool
}

func (e *end) Event(ev engine.Event) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
}

func (e *end) of(t engine.EventType) []engine.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []engine.Event
	for _, ev := range e.events {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// runCase runs the ends of syncSrc at once, meeting through one
// fleet.Sync whose bounded wait is far beyond the test's deadline: a
// release that relied on it would fail the test by its deadline, not
// pass it slowly.
func runCase(t *testing.T, ends []*end, operator engine.Prompter) ([]*engine.Result, *fleet.Sync) {
	t.Helper()
	pb := load(t, syncSrc)
	names := make([]string, len(ends))
	for i, e := range ends {
		names[i] = e.name
	}
	s := fleet.NewSync(pb, names)
	s.MaxWait = 10 * time.Minute
	f := &fleet.Fleet{Parallel: 1} // the ends run at once all the same
	dir := t.TempDir()
	for i, e := range ends {
		params, err := fleet.Bind(pb, map[string]string{"peer": "10.0.0." + fmt.Sprint(i+1), "skip": fmt.Sprint(e.skip)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := paced(e.d, e.skip, e.failAt)
		pace := 1.0
		if e.virtual {
			pace = 0
		}
		if _, err := f.Add(engine.Options{Folder: runfolder.Create,
			Playbook: pb, Params: params, Target: e.name, Transport: "replay",
			Dir:      filepath.Join(dir, e.name),
			Prompter: operator,
			Observer: e,
			Sync:     s.End(i),
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{Pace: pace}), nil
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := f.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the case did not end before the test's deadline: a barrier held an end")
	}
	return res, s
}

// runs are the start and end of each run of step id, in order, read
// from the run folder res wrote.
func runs(t *testing.T, res *engine.Result, id string) (starts, ends []time.Time) {
	t.Helper()
	_, err := runfolder.Scan(res.Dir, func(s engine.StepRecord) error {
		if s.ID == id && s.Seq > 0 {
			starts, ends = append(starts, s.Start), append(ends, s.End)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return starts, ends
}

// TestSyncRunsStartTogether: run k+1 of either end never starts before
// run k of the other ended (the barrier), whatever their speeds; the
// shared starts keep the interval; the prompts are asked once each for
// both ends, the different texts side by side.
func TestSyncRunsStartTogether(t *testing.T) {
	a, b := &end{name: "fw1", d: 0}, &end{name: "fw2", d: 40 * time.Millisecond}
	op := &scripted{}
	res, s := runCase(t, []*end{a, b}, op)
	for i, r := range res {
		if r.ExitCode != 0 {
			t.Fatalf("end %d: exit %d: %v", i, r.ExitCode, r.Err)
		}
	}
	for _, id := range []string{"flow", "only"} {
		as, ae := runs(t, res[0], id)
		bs, be := runs(t, res[1], id)
		if len(as) != len(bs) || len(as) < 3 {
			t.Fatalf("%s: %d and %d runs", id, len(as), len(bs))
		}
		for k := 0; k+1 < len(as); k++ {
			if as[k+1].Before(be[k]) {
				t.Errorf("%s: fw1 run %d started %s before fw2's run %d ended %s", id, k+2, as[k+1], k+1, be[k])
			}
			if bs[k+1].Before(ae[k]) {
				t.Errorf("%s: fw2 run %d started %s before fw1's run %d ended %s", id, k+2, bs[k+1], k+1, ae[k])
			}
		}
	}
	// Each run of each end met the other at the same shared start.
	var flow []fleet.Meeting
	for _, m := range s.Meetings() {
		if len(m.Missing)+len(m.Late) > 0 || !slices.Equal(m.Met, []string{"fw1", "fw2"}) {
			t.Errorf("meeting %+v: not both ends", m)
		}
		if m.Step == "flow" {
			flow = append(flow, m)
		}
	}
	if len(flow) != 4 {
		t.Fatalf("%d meetings at flow, want 4", len(flow))
	}
	for k := 1; k < len(flow); k++ {
		if gap := flow[k].At.Sub(flow[k-1].At); gap < 20*time.Millisecond {
			t.Errorf("flow run %d started %s after run %d: less than the interval", k+1, gap, k)
		}
	}
	for _, e := range []*end{a, b} {
		synced := e.of(engine.EvSynced)
		if len(synced) != 4+3+1 { // flow, only, settle
			t.Errorf("%s: %d synced events, want 8", e.name, len(synced))
		}
		for _, ev := range synced {
			if ev.Status != engine.EvOK || len(ev.With) != 1 || ev.Deadline == nil {
				t.Errorf("%s: synced event %+v", e.name, ev)
			}
		}
		answers := e.of(engine.EvPromptAnswered)
		if len(answers) != 2 {
			t.Fatalf("%s: %d prompt answers", e.name, len(answers))
		}
		for _, ev := range answers {
			if ev.Reason != engine.ReasonCaseAnswer || ev.Status != engine.EvContinued || len(ev.With) != 1 {
				t.Errorf("%s: answer %+v is not the case's", e.name, ev)
			}
		}
	}
	// Once per prompt for the case, never once per end.
	if len(op.got) != 2 {
		t.Fatalf("asked %d times, want 2: %q", len(op.got), op.got)
	}
	want0 := "fw1: Start traffic towards 10.0.0.1, then press Enter.\nfw2: Start traffic towards 10.0.0.2, then press Enter.\n(asked once for fw1 and fw2: the answer applies to each)"
	want1 := "Press Enter once both ends show the SA.\n(asked once for fw1 and fw2: the answer applies to each)"
	if op.got[0] != want0 || op.got[1] != want1 {
		t.Errorf("questions:\n%s\n--\n%s", op.got[0], op.got[1])
	}
}

// TestSyncEndFailsMidRepeat: fw2 fails at run 2 of flow; fw1 does not
// wait for it (its run ended), finishes every run, and is told so.
func TestSyncEndFailsMidRepeat(t *testing.T) {
	a, b := &end{name: "fw1", d: 5 * time.Millisecond}, &end{name: "fw2", d: 5 * time.Millisecond, failAt: 2}
	op := &scripted{}
	res, _ := runCase(t, []*end{a, b}, op)
	if res[0].ExitCode != 0 || res[1].ExitCode != engine.ExitStepFailed {
		t.Fatalf("exits %d and %d (%v, %v)", res[0].ExitCode, res[1].ExitCode, res[0].Err, res[1].Err)
	}
	if as, _ := runs(t, res[0], "flow"); len(as) != 4 {
		t.Errorf("fw1 ran flow %d times, want 4", len(as))
	}
	alone := 0
	for _, ev := range a.of(engine.EvSynced) {
		if ev.Status == engine.EvSkipped {
			alone++
			if ev.Reason != engine.ReasonSyncEnded || !strings.Contains(ev.Message, "fw2's run ended (failed)") {
				t.Errorf("synced %+v", ev)
			}
		}
	}
	if alone == 0 {
		t.Error("fw1 was not told it went on without fw2")
	}
	// The prompts came after fw2 ended: asked for fw1 alone, as a
	// single run asks them.
	if len(op.got) != 2 || strings.Contains(op.got[0], "asked once") {
		t.Errorf("questions %q", op.got)
	}
}

// TestSyncStepSkippedOnOneEnd: "only" does not run on fw2 (when: false);
// fw1 runs it without waiting, and is told fw2 is past it.
func TestSyncStepSkippedOnOneEnd(t *testing.T) {
	a, b := &end{name: "fw1"}, &end{name: "fw2", skip: true}
	res, s := runCase(t, []*end{a, b}, &scripted{})
	for i, r := range res {
		if r.ExitCode != 0 {
			t.Fatalf("end %d: exit %d: %v", i, r.ExitCode, r.Err)
		}
	}
	n := 0
	for _, m := range s.Meetings() {
		if m.Step != "only" {
			continue
		}
		n++
		if len(m.Missing) != 1 || m.Missing[0].End != "fw2" || m.Missing[0].Reason != engine.ReasonSyncElsewhere {
			t.Errorf("only run %d: missing %+v", m.Run, m.Missing)
		}
	}
	if n != 3 {
		t.Errorf("%d meetings at only, want 3", n)
	}
}

// TestSyncVirtualEndDoesNotBlock: a replay in virtual time meets nobody
// in time (and waits for nobody); the real-clock end does not wait for it.
func TestSyncVirtualEndDoesNotBlock(t *testing.T) {
	a, b := &end{name: "fw1", d: time.Millisecond}, &end{name: "fw2", virtual: true}
	op := &scripted{}
	res, _ := runCase(t, []*end{a, b}, op)
	for i, r := range res {
		if r.ExitCode != 0 {
			t.Fatalf("end %d: exit %d: %v", i, r.ExitCode, r.Err)
		}
	}
	// The prompts wait for the operator, not the clock: still asked once.
	if len(op.got) != 2 {
		t.Errorf("asked %d times, want 2: %q", len(op.got), op.got)
	}
	if n := len(b.of(engine.EvSynced)); n != 0 {
		t.Errorf("the virtual end has %d synced events: %+v", n, b.of(engine.EvSynced))
	}
}

// TestSyncInterrupted: a signal while one end waits for the other, busy
// with a long command, ends both runs at once.
func TestSyncInterrupted(t *testing.T) {
	pb := load(t, syncSrc)
	s := fleet.NewSync(pb, []string{"fw1", "fw2"})
	s.MaxWait = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop, stopOnce := make(chan struct{}), sync.Once{}
	f := &fleet.Fleet{Parallel: 2}
	for i, d := range []time.Duration{0, 10 * time.Minute} {
		c := paced(d, false, 0)
		params, err := fleet.Bind(pb, map[string]string{"peer": "x"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obs := engine.ObserverFunc(func(e engine.Event) {
			if e.Type == engine.EvStepEnded && e.Target == "fw1" {
				stopOnce.Do(func() { close(stop) }) // fw1 ran flow once: now it waits for fw2
			}
		})
		if _, err := f.Add(engine.Options{Folder: runfolder.Create,
			Playbook: pb, Params: params, Target: fmt.Sprintf("fw%d", i+1), Transport: "replay",
			Dir: filepath.Join(t.TempDir(), "x"), Yes: true, Observer: obs, Sync: s.End(i),
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{Pace: 1}), nil
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	run, runCancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-stop:
			time.Sleep(10 * time.Millisecond)
			runCancel(errors.New("interrupt"))
		case <-ctx.Done():
		}
	}()
	res := f.Run(run)
	if ctx.Err() != nil {
		t.Fatal("the case did not end before the test's deadline")
	}
	for i, r := range res {
		if r.Status != engine.StatusInterrupted {
			t.Errorf("end %d: %s (%v), want interrupted", i, r.Status, r.Err)
		}
	}
}
