package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
)

// DefaultMaxWait is how long, beyond a repeat's interval, an end waits at
// a meeting point for an end that is still coming (Sync.MaxWait): the
// default timeout of one command, so that an end busy with a slow command
// is waited for, and one that hangs holds the others no longer than that.
const DefaultMaxWait = 60 * time.Second

// Sync makes the ends of one case sample together: each end's run gets
// End(i) as its engine.Options.Sync. Before each run of a repeated step,
// each wait and each prompt, an end waits until every other end is at the
// same point (the step, and the run of its repeat), then all start at
// once: run 1 when the last one arrived, run k+1 at run k's start plus the
// interval (later if an end is still busy with run k). A prompt is asked
// once for every end there.
//
// An end never waits for one that will not come: one whose run ended
// (done, failed, interrupted, never connected), one that is past the
// point without running it (the playbook runs steps in the order of
// playbook.Walk, so an end at a later step has passed it), one that
// replays in virtual time, nor, after MaxWait beyond the interval, one
// that is still coming; an end that comes after the others started goes
// on at once. Every end waits for every other with no cycle: an end only
// waits for ends behind it. Meetings says how each point went.
type Sync struct {
	// MaxWait bounds the wait at a point beyond its interval; zero means
	// DefaultMaxWait.
	MaxWait time.Duration
	// Now is the real clock (tests); nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// steps is the number of steps of the playbook (Step.Order is from 1
	// to steps).
	steps   int
	ends    []*syncEnd
	points  map[syncKey]*syncPoint
	pending []*syncPoint
	log     []*syncPoint
}

// syncKey orders the points of a run: the step's place in playbook.Walk
// (-1: the warnings, before every step) and the run of its repeat (0: the
// step reached, not yet met at).
type syncKey struct{ ord, run int }

func (k syncKey) less(o syncKey) bool {
	if k.ord != o.ord {
		return k.ord < o.ord
	}
	return k.run < o.run
}

// syncEnd is one end as the case sees it.
type syncEnd struct {
	name    string
	pos     syncKey
	left    bool
	status  engine.Status
	virtual bool
}

// syncPoint is one meeting point.
type syncPoint struct {
	key      syncKey
	step     *playbook.Step
	kind     string
	runs     int
	interval time.Duration
	arrived  []bool
	msgs     []string
	late     []int
	released bool
	done     chan struct{}
	at       time.Time
	missing  []engine.SyncMissing

	// A prompt: asked once, by the first end to leave the point.
	asking   bool
	shown    []string
	answered chan struct{}
	ok       bool
	err      error
	waiting  int
	cancel   context.CancelFunc
}

// NewSync returns the meeting points of the ends named ends, in order,
// running pb (the same *playbook.Playbook for every end).
func NewSync(pb *playbook.Playbook, ends []string) *Sync {
	// A step's place is its Order, the same in each end's run however
	// the steps are read (a long playbook's are decoded again by each
	// run, each with its own *Step): nothing of the steps is held here. A
	// Playbook built by hand is given its Order here, before its ends run.
	pb.NumberSteps()
	s := &Sync{steps: pb.NumSteps(), points: map[syncKey]*syncPoint{}}
	for _, name := range ends {
		s.ends = append(s.ends, &syncEnd{name: name, pos: syncKey{ord: -2}})
	}
	return s
}

// End is the engine.Sync of the i-th end.
func (s *Sync) End(i int) engine.Sync { return &syncOf{s: s, i: i} }

// Len is the number of ends.
func (s *Sync) Len() int { return len(s.ends) }

func (s *Sync) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ord is the place of st in the playbook (-1: the warnings): its Order,
// from 0; false for a step of cleanup, or of another playbook, which meets
// nobody.
func (s *Sync) ord(st *playbook.Step) (int, bool) {
	if st == nil {
		return -1, true
	}
	if st.Order < 1 || st.Order > s.steps {
		return 0, false
	}
	return st.Order - 1, true
}

// syncOf is one end's view of the case.
type syncOf struct {
	s *Sync
	i int
}

var _ engine.Sync = (*syncOf)(nil)

func (e *syncOf) Reach(st *playbook.Step) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.ord(st); ok {
		s.advance(e.i, syncKey{ord: n})
		s.checkPending()
	}
}

func (e *syncOf) Leave(status engine.Status) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if en := s.ends[e.i]; !en.left {
		en.left, en.status = true, status
	}
	s.checkPending()
}

func (e *syncOf) Meet(ctx context.Context, p engine.SyncPoint) (engine.SyncMeeting, error) {
	kind := "repeat"
	if p.Step != nil && p.Step.Kind == playbook.KindWait {
		kind = "wait"
	}
	_, m, err := e.s.meet(ctx, e.i, p, kind, "")
	return m, err
}

func (e *syncOf) Ask(ctx context.Context, p engine.SyncPoint, msg string, timeout time.Duration, ask engine.Prompter) (engine.SyncMeeting, bool, error) {
	s := e.s
	pt, m, err := s.meet(ctx, e.i, p, "prompt", msg)
	if err != nil {
		return m, false, err
	}
	if pt == nil { // not a step of the case's playbook
		ok, err := ask.Ask(ctx, msg, timeout)
		return m, ok, err
	}
	s.mu.Lock()
	if m.Late && (!pt.asking || !slices.Contains(pt.shown, msg)) {
		// The question was asked without this end's text: asked on its own.
		s.mu.Unlock()
		ok, err := ask.Ask(ctx, msg, timeout)
		m.With = nil
		return m, ok, err
	}
	if !pt.asking {
		pt.asking = true
		var names []string
		for j, arrived := range pt.arrived {
			if arrived {
				names = append(names, s.ends[j].name)
				pt.shown = append(pt.shown, pt.msgs[j])
			}
		}
		q := caseQuestion(names, pt.shown)
		actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		pt.cancel = cancel
		go func() {
			ok, err := ask.Ask(actx, q, timeout)
			s.mu.Lock()
			pt.ok, pt.err = ok, err
			close(pt.answered)
			s.mu.Unlock()
			cancel()
		}()
	}
	pt.waiting++
	s.mu.Unlock()
	select {
	case <-pt.answered:
		s.mu.Lock()
		defer s.mu.Unlock()
		return m, pt.ok, pt.err
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		pt.waiting--
		if pt.waiting == 0 {
			pt.cancel()
		}
		return m, false, context.Cause(ctx)
	}
}

// caseQuestion is the one question for the ends names: their text once
// when they all say the same, else each end's text after its name.
func caseQuestion(names, msgs []string) string {
	if len(names) < 2 {
		return strings.Join(msgs, "")
	}
	var b strings.Builder
	same := true
	for _, m := range msgs {
		same = same && m == msgs[0]
	}
	if same {
		b.WriteString(msgs[0])
	} else {
		for k, m := range msgs {
			if k > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s: %s", names[k], m)
		}
	}
	fmt.Fprintf(&b, "\n(asked once for %s: the answer applies to each)", andList(names))
	return b.String()
}

func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// meet brings end i to point p and waits there (bounded) until every end
// that can still come came.
func (s *Sync) meet(ctx context.Context, i int, p engine.SyncPoint, kind, msg string) (*syncPoint, engine.SyncMeeting, error) {
	s.mu.Lock()
	n, known := s.ord(p.Step)
	if !known {
		s.mu.Unlock()
		return nil, engine.SyncMeeting{At: s.now()}, nil
	}
	key := syncKey{ord: n, run: max(p.Run, 1)}
	s.advance(i, key)
	if p.Virtual {
		s.ends[i].virtual = true
		s.checkPending()
		s.mu.Unlock()
		return nil, engine.SyncMeeting{At: s.now()}, nil
	}
	pt := s.points[key]
	if pt == nil {
		pt = &syncPoint{key: key, step: p.Step, kind: kind, runs: p.Runs, arrived: make([]bool, len(s.ends)),
			msgs: make([]string, len(s.ends)), done: make(chan struct{}), answered: make(chan struct{})}
		s.points[key] = pt
		s.pending = append(s.pending, pt)
		s.log = append(s.log, pt)
	}
	if pt.released {
		pt.late = append(pt.late, i)
		m := s.meeting(pt, i)
		m.Late, m.At = true, s.now()
		s.mu.Unlock()
		return pt, m, nil
	}
	pt.arrived[i], pt.msgs[i] = true, msg
	pt.interval = max(pt.interval, p.Interval)
	s.checkPending()
	wait := pt.interval + s.maxWait()
	s.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-pt.done:
	case <-t.C:
		s.mu.Lock()
		if !pt.released {
			s.release(pt)
		}
		s.mu.Unlock()
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		pt.arrived[i] = false
		if en := s.ends[i]; !en.left {
			en.left, en.status = true, engine.StatusInterrupted
		}
		s.checkPending()
		return pt, engine.SyncMeeting{}, context.Cause(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return pt, s.meeting(pt, i), nil
}

func (s *Sync) maxWait() time.Duration {
	if s.MaxWait > 0 {
		return s.MaxWait
	}
	return DefaultMaxWait
}

// advance moves end i forward to k; an end never moves back.
func (s *Sync) advance(i int, k syncKey) {
	if en := s.ends[i]; en.pos.less(k) {
		en.pos = k
	}
}

// meeting is how point pt went for end i.
func (s *Sync) meeting(pt *syncPoint, i int) engine.SyncMeeting {
	m := engine.SyncMeeting{At: pt.at, Missing: pt.missing}
	for j, arrived := range pt.arrived {
		if arrived && j != i {
			m.With = append(m.With, s.ends[j].name)
		}
	}
	return m
}

// checkPending releases every point no end is still coming to.
func (s *Sync) checkPending() {
	kept := s.pending[:0]
	for _, pt := range s.pending {
		if !pt.released && s.coming(pt) < 0 {
			s.release(pt)
		}
		if !pt.released {
			kept = append(kept, pt)
		}
	}
	s.pending = kept
}

// coming is an end that may still come to pt, -1 for none.
func (s *Sync) coming(pt *syncPoint) int {
	for j, en := range s.ends {
		// A prompt waits for the operator, not the clock: an end in
		// virtual time is waited for there.
		timeless := en.virtual && pt.kind != "prompt"
		if !pt.arrived[j] && !en.left && !timeless && !pt.key.less(en.pos) {
			return j
		}
	}
	return -1
}

// release starts pt: now, and for a later run of a repeat no sooner than
// the previous run's start plus the interval.
func (s *Sync) release(pt *syncPoint) {
	now := s.now()
	pt.at = now
	if prev := s.points[syncKey{pt.key.ord, pt.key.run - 1}]; prev != nil && prev.released {
		if next := prev.at.Add(pt.interval); next.After(now) {
			pt.at = next
		}
	}
	pt.missing = nil
	for j, en := range s.ends {
		if pt.arrived[j] {
			continue
		}
		m := engine.SyncMissing{End: en.name}
		switch {
		case en.left:
			m.Reason, m.Status = engine.ReasonSyncEnded, string(en.status)
		case en.virtual && pt.kind != "prompt":
			m.Reason = engine.ReasonSyncVirtual
		case pt.key.less(en.pos):
			m.Reason = engine.ReasonSyncElsewhere
		default:
			m.Reason = engine.ReasonSyncLate
		}
		pt.missing = append(pt.missing, m)
	}
	pt.released = true
	close(pt.done)
}

// Meeting is how one meeting point of the case went (Sync.Meetings).
type Meeting struct {
	// Step is the step's id, else "line N" ("warnings" for the
	// playbook's warnings); ID its id and Line its line.
	Step string
	ID   string
	Line int
	// Kind is repeat (a run of a repeated step), wait or prompt.
	Kind      string
	Run, Runs int
	// Interval is the repeat's interval (the longest any end asked).
	Interval time.Duration
	// At is when the point started, on the real clock.
	At time.Time
	// Met are the ends that met there, in order; Missing those that did
	// not, with why; Late those that came after it started.
	Met     []string
	Missing []engine.SyncMissing
	Late    []string
}

// Ends are the names of the ends, in order.
func (s *Sync) Ends() []string {
	out := make([]string, len(s.ends))
	for i, e := range s.ends {
		out[i] = e.name
	}
	return out
}

// Meetings says how every point the ends met at went, in the order the
// first end came to them. Call it once the runs ended.
func (s *Sync) Meetings() []Meeting {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Meeting
	for _, pt := range s.log {
		if !pt.released {
			continue
		}
		m := Meeting{Kind: pt.kind, Run: pt.key.run, Runs: pt.runs, Interval: pt.interval, At: pt.at, Missing: pt.missing}
		if pt.step != nil {
			m.Step, m.ID, m.Line = pt.step.ID, pt.step.ID, pt.step.Line
			if m.Step == "" {
				m.Step = fmt.Sprintf("line %d", pt.step.Line)
			}
		} else {
			m.Step = "warnings"
		}
		for j, arrived := range pt.arrived {
			if arrived {
				m.Met = append(m.Met, s.ends[j].name)
			}
		}
		for _, j := range pt.late {
			m.Late = append(m.Late, s.ends[j].name)
		}
		out = append(out, m)
	}
	return out
}
