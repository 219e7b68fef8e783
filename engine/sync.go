package engine

// This file is the engine's side of a case's synchronised sampling: the
// interface the runs of one case share (fleet.Sync implements it) and the
// hooks that call it. A run without Options.Sync never calls any of it.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// Sync is what the ends of one case share while they run at once: each
// end's run is given its own Sync (Options.Sync) and meets the others at
// each run of a repeated step and at each wait, so that run k of step S
// starts on every end at the same wall time, and asks the operator once
// for every end at a prompt. The engine knows nothing else of the other
// ends.
//
// An implementation must never leave an end waiting for one that will
// not come: an end whose run ended (Leave), that is past the point
// without meeting there (Reach), that replays in virtual time, or that
// did not come within a bounded wait holds nobody. None of the methods
// may be retried.
type Sync interface {
	// Reach says that the run is at step s (in the order of
	// playbook.Walk, which is the order the steps run in). It never
	// blocks.
	Reach(s *playbook.Step)
	// Meet waits for the other ends at point p and returns when p starts
	// on the real clock: the engine sleeps until then. With p.Virtual it
	// returns at once (a replay's virtual clock never blocks). When ctx is
	// done it returns ctx's cause at once, and this end leaves the case.
	Meet(ctx context.Context, p SyncPoint) (SyncMeeting, error)
	// Ask asks the operator message (this end's rendered text) once for
	// every end at the prompt p, through ask, with the prompt's timeout,
	// and returns the answer that applies to every end, or
	// ErrPromptTimeout. When ctx is done it returns ctx's cause; the
	// question goes on for the other ends.
	Ask(ctx context.Context, p SyncPoint, message string, timeout time.Duration, ask Prompter) (SyncMeeting, bool, error)
	// Leave says that the run reaches no more point: its steps ended with
	// status (or it never started). It may be called more than once; the
	// first call counts.
	Leave(status Status)
}

// SyncPoint is where the ends meet: run Run of Runs of Step (1 of 1 for a
// wait or a prompt). Step nil is the playbook's warnings, confirmed before
// anything is sent.
type SyncPoint struct {
	Step      *playbook.Step
	Run, Runs int
	// Interval is the repeat's interval: run k+1 starts no sooner than
	// Interval after run k started on every end.
	Interval time.Duration
	// Virtual: this end replays in virtual time and does not wait.
	Virtual bool
}

// SyncMeeting is how a meeting went for one end.
type SyncMeeting struct {
	// At is when the point starts, on the real clock.
	At time.Time
	// With are the other ends that met there.
	With []string
	// Missing are the ends that did not, each with why.
	Missing []SyncMissing
	// Late: this end came after the others had started without it.
	Late bool
}

// SyncMissing is an end that did not meet the others at a point.
type SyncMissing struct {
	End string `json:"end"`
	// Reason is one of the ReasonSync* constants.
	Reason string `json:"reason"`
	// Status is how the end's steps ended (ReasonSyncEnded).
	Status string `json:"status,omitempty"`
}

// The reasons an end did not meet the others (SyncMissing.Reason, and the
// Reason of an EvSynced event).
const (
	ReasonSyncEnded     = "end-ended"     // its run's steps ended (done, failed, interrupted, never connected)
	ReasonSyncElsewhere = "end-elsewhere" // it is past the step without running it (when: false, the other branch, fewer runs)
	ReasonSyncLate      = "end-late"      // it did not come within the bounded wait
	ReasonSyncVirtual   = "end-virtual"   // it replays in virtual time
	ReasonSyncCameLate  = "came-late"     // this end came after the others had started
	ReasonCaseAnswer    = "case-answer"   // a prompt answered once for every end of the case
)

// Text says in words why the end was missing.
func (m SyncMissing) Text() string {
	switch m.Reason {
	case ReasonSyncEnded:
		if m.Status != "" {
			return m.End + "'s run ended (" + m.Status + ")"
		}
		return m.End + "'s run ended"
	case ReasonSyncElsewhere:
		return m.End + " is past this step without running it"
	case ReasonSyncLate:
		return m.End + " did not come in time"
	case ReasonSyncVirtual:
		return m.End + " replays in virtual time"
	}
	return m.End + ": " + m.Reason
}

// leave tells the case that this run reaches no more point.
func (ru *run) leave(s Status) {
	if ru.o.Sync != nil {
		ru.o.Sync.Leave(s)
	}
}

// reach tells the case that the run is at step s.
func (ru *run) reach(s *playbook.Step) {
	if ru.o.Sync != nil {
		ru.o.Sync.Reach(s)
	}
}

// pace waits for run p.Run of p.Runs of the repeated step s: interval
// after the previous run as a single run does, or, in a case
// (Options.Sync), until the shared start of that run on every end. what
// names the step in the wait; p, what the pause holds back, is journaled
// with it.
func (ru *run) pace(ctx context.Context, s *playbook.Step, p *Pause, interval time.Duration, what string) error {
	i, count := p.Run, p.Runs
	why := fmt.Sprintf("next run of %s (%d/%d)", what, i, count)
	if ru.o.Sync == nil || count < 2 {
		if i > 1 {
			return ru.sleep(ctx, interval, why, s, p)
		}
		return nil
	}
	_, virtual := ru.clock.(*virtualClock)
	m, err := ru.meet(ctx, SyncPoint{Step: s, Run: i, Runs: count, Interval: interval, Virtual: virtual},
		fmt.Sprintf("to meet the other targets of the case before run %d/%d of %s", i, count, what), p)
	if err != nil {
		return err
	}
	if virtual {
		if i > 1 {
			return ru.sleep(ctx, interval, why, s, p)
		}
		return nil
	}
	if len(m.With) > 0 {
		why += ", together with " + strings.Join(m.With, ", ")
	}
	return ru.sleep(ctx, m.At.Sub(ru.now()), why, s, p)
}

// meet meets the other ends at p and says how it went (EvSynced). A
// meeting that may block (not virtual) is journaled as a wait of its own
// kind ("meet", why what it is for, pause what the pause it opens holds
// back, when it opens one) before it begins, and its end after, so that
// runbook cleanup knows a kill cut it short.
func (ru *run) meet(ctx context.Context, p SyncPoint, why string, pause *Pause) (SyncMeeting, error) {
	if !p.Virtual {
		step := ""
		if p.Step != nil {
			step = p.Step.ID
		}
		ru.dropRefused(pause)
		ru.j.meetStarted(ru.now(), why, step, pause)
	}
	m, err := ru.o.Sync.Meet(ctx, p)
	if !p.Virtual {
		status := "ok"
		switch {
		case ctx.Err() != nil:
			status = stoppedStatus(ctx)
		case err != nil:
			status = "failed"
		}
		ru.j.waitEnded(ru.now(), status)
	}
	if err != nil || p.Virtual {
		return m, err
	}
	ru.synced(p, m)
	return m, nil
}

// synced emits how the meeting at p went.
func (ru *run) synced(p SyncPoint, m SyncMeeting) {
	e := Event{Type: EvSynced, Status: EvOK, With: m.With}
	if p.Step != nil {
		e.Step, e.Kind = p.Step.ID, string(p.Step.Kind)
	}
	if p.Runs > 1 {
		e.Run, e.Runs = p.Run, p.Runs
	}
	if !m.At.IsZero() {
		at := m.At.UTC()
		e.Deadline = &at
	}
	var why []string
	for _, x := range m.Missing {
		why = append(why, x.Text())
		if e.Reason == "" {
			e.Reason = x.Reason
		}
	}
	switch {
	case m.Late:
		e.Status, e.Reason = EvSkipped, ReasonSyncCameLate
		e.Message = "the other ends started this without " + ru.o.Target + ": it goes on at once"
	case len(why) > 0:
		e.Status = EvSkipped
		e.Message = strings.Join(why, "; ") + ": " + ru.o.Target + " goes on without it"
		if len(m.With) > 0 {
			e.Message += ", together with " + strings.Join(m.With, ", ")
		}
	case len(m.With) > 0:
		e.Message = "together with " + strings.Join(m.With, ", ")
	}
	ru.em.emit(e)
}

// waitTogether meets the other ends before the wait step s, so that the
// wait starts (and, for the same duration, ends) on every end at once. It
// returns how much of d is left to wait.
func (ru *run) waitTogether(ctx context.Context, s *playbook.Step, d time.Duration) (time.Duration, error) {
	if ru.o.Sync == nil {
		return d, nil
	}
	_, virtual := ru.clock.(*virtualClock)
	m, err := ru.meet(ctx, SyncPoint{Step: s, Run: 1, Runs: 1, Virtual: virtual}, "to meet the other targets of the case before the wait "+describe(s), nil)
	if err != nil || virtual {
		return d, err
	}
	return m.At.Add(d).Sub(ru.now()), nil
}

// ask asks the operator msg: once for the whole case in a case (and says
// so in the answer's event), else through the run's Prompter. s nil is the
// playbook's warnings.
func (ru *run) ask(ctx context.Context, s *playbook.Step, msg string, timeout time.Duration) (ok bool, shared []string, err error) {
	if ru.o.Sync == nil {
		ok, err = ru.o.Prompter.Ask(ctx, msg, timeout)
		return ok, nil, err
	}
	m, ok, err := ru.o.Sync.Ask(ctx, SyncPoint{Step: s, Run: 1, Runs: 1}, msg, timeout, ru.o.Prompter)
	if len(m.Missing) > 0 || m.Late {
		ru.synced(SyncPoint{Step: s, Run: 1, Runs: 1}, m)
	}
	return ok, m.With, err
}
