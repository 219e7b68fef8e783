package engine

import "slices"

// journalWalk is what rebuildRecord learns from a killed run's journal,
// walked once in order (walk): the steps it started, where a step of
// several sends was, what the device refused, and the undo, cleanup,
// notes and end it recorded into m. Each field holds one answer.
type journalWalk struct {
	m *Manifest
	// steps are the steps the journal shows sent, and the wait: steps it
	// shows ended, in order.
	steps []started
	// bySeq is the index in steps of each step-start, by its seq; waits
	// the index of each ended wait: step, by waitKey.
	bySeq map[int]int
	waits map[string]int
	// wait is the wait the journal shows begun and not ended: the kill
	// cut it short. stopped is a pause (or a case run's meeting before a
	// run) that ended because the run was stopped in it (a signal,
	// --timeout: its wait-end says interrupted or timeout; the engine
	// died after, in its cleanup), with its wait-end stoppedEnd.
	wait, stopped, stoppedEnd *JournalEntry
	// plan is what the step of several sends started last sends at each
	// run (its first step-start's), planStep that step, planAt its index
	// in steps while it was the last step the run was at (-1 once the run
	// went on past it), at where it was (its last step-start: which run,
	// try and item).
	plan     *Pause
	planStep string
	planAt   int
	at       sendAt
	// once is the index in steps of the last step-start of a step sent
	// once, while the run was at it (-1 otherwise).
	once int
	// refused holds the forms the device refused in the run.
	refused map[string]bool
	// ats is where each send of a step of several sends is, by seq.
	ats map[int]sendAt
	// failedSends is what a send that failed left untaken of its step
	// (sendMissing, with the forms refused until then), by seq: the step
	// sends nothing after it, so when the run went on (on_error:
	// continue), those are its missing evidence.
	failedSends map[int][]MissingRecord
	// failedAfterSend is the step-failed entries by seq: a step that
	// failed after that send was taken and let the run go on, with the
	// runs and items after it (sendMissing).
	failedAfterSend map[int]afterSend
	// undo is the undo commands (as shown) each step armed, by seq.
	undo map[int][]string
}

// walkJournal walks entries into a journalWalk, recording into m the
// undo and cleanup records, notes and end the journal holds.
func walkJournal(m *Manifest, entries []JournalEntry) *journalWalk {
	w := &journalWalk{m: m, planAt: -1, once: -1, refused: map[string]bool{}, ats: map[int]sendAt{},
		failedSends: map[int][]MissingRecord{}, failedAfterSend: map[int]afterSend{}, bySeq: map[int]int{}, waits: map[string]int{}, undo: map[int][]string{}}
	for _, e := range entries {
		switch e.Event {
		case evCleanupEntry:
			w.cleanupEntry(e)
		case evWaitStart:
			w.wait = &e
		case evWaitEnd:
			w.waitEnd(e)
		case evStepStart:
			w.stepStart(e)
		case evStepEnd:
			w.stepEnd(e)
		case evUndoIntent:
			for _, u := range e.Undo {
				w.undo[e.Seq] = append(w.undo[e.Seq], ShowForms(u))
			}
		case evNote:
			m.Notes = append(m.Notes, e.Message)
		case evRefused:
			w.refused[e.Command] = true
		case evPrompt:
			w.wentOn()
		case evStepFailed:
			w.stepFailed(e)
		}
		if !e.Time.IsZero() {
			m.Ended = e.Time
		}
	}
	return w
}

// isRefused says whether the device refused form in the run (so far).
func (w *journalWalk) isRefused(form string) bool { return w.refused[form] }

// left is plan without the forms refused until now (dropForms), plan
// itself kept for the sends after.
func (w *journalWalk) left() *Pause {
	q := *w.plan
	q.Sends = slices.Clone(q.Sends)
	dropForms(&q, w.isRefused)
	return &q
}

// wentOn says the run went on past the step it was at.
func (w *journalWalk) wentOn() { w.planAt, w.once = -1, -1 }

// endedInWait says whether the run ended in a wait or a pause it was
// stopped in.
func (w *journalWalk) endedInWait() bool { return w.wait != nil || w.stopped != nil }

func (w *journalWalk) cleanupEntry(e JournalEntry) {
	rec := CleanupRecord{Command: e.Command, Status: e.Status, Error: e.Error, Time: e.Time, Note: e.Message}
	if k, err := ParseKey(e.Key); err == nil && k.Kind == KindCleanup {
		w.m.Cleanup = append(w.m.Cleanup, rec)
	} else {
		w.m.Undo = append(w.m.Undo, rec)
	}
}

func (w *journalWalk) waitEnd(e JournalEntry) {
	switch {
	case w.wait == nil:
	case w.wait.Kind == "wait":
		w.waits[waitKey(w.wait.Step, w.wait.Time)] = len(w.steps)
		w.steps = append(w.steps, started{start: *w.wait, end: &e, wait: true})
	case (e.Status == "interrupted" || e.Status == "timeout") && w.wait.Pause != nil:
		w.stopped, w.stoppedEnd = w.wait, &e
	}
	w.wait = nil
}

func (w *journalWalk) stepStart(e JournalEntry) {
	w.wait, w.stopped = nil, nil // a step after it: the wait ended
	switch {
	case e.Plan != nil:
		q := *e.Plan
		q.Sends = slices.Clone(q.Sends)
		w.plan, w.planStep = &q, e.Step
	case e.Run == 0:
		w.plan = nil // a step sent once (or a journal from before plans)
	}
	w.wentOn()
	if w.plan != nil && e.Run > 0 && e.Step == w.planStep {
		w.planAt = len(w.steps)
		w.at = sendAt{run: e.Run, try: e.Try, item: max(e.ItemNo-1, 0)}
		w.ats[e.Seq] = w.at
	}
	if e.Run == 0 && e.Plan == nil {
		w.once = len(w.steps)
	}
	w.bySeq[e.Seq] = len(w.steps)
	w.steps = append(w.steps, started{start: e})
}

func (w *journalWalk) stepEnd(e JournalEntry) {
	if i, ok := w.bySeq[e.Seq]; ok {
		w.steps[i].end = &e
	}
	if a, ok := w.ats[e.Seq]; ok && w.plan != nil && (e.Status == "failed" || e.Status == "timeout" || e.Status == "refused") {
		if out := failedMissing(w.planStep, w.left(), a, e.Seq, e.Status, e.Error); out != nil {
			w.failedSends[e.Seq] = out
		}
	}
}

func (w *journalWalk) stepFailed(e JournalEntry) {
	f := afterSend{err: e.Error}
	i, sent := w.bySeq[e.Seq]
	if a, ok := w.ats[e.Seq]; ok && w.plan != nil && sent && w.steps[i].end != nil && w.steps[i].end.Status == "ok" {
		f.after = sendMissing(w.planStep, w.left(), a, 0, failedAfter, e.Error)
	}
	w.failedAfterSend[e.Seq] = f
	w.wentOn() // the run went on past the step
}

// seen marks as recorded the step (or wait: step) whose record rec is.
func (w *journalWalk) seen(rec *StepRecord) {
	if i, ok := w.bySeq[rec.Seq]; ok && rec.Seq > 0 {
		w.steps[i].recorded = true
	}
	if i, ok := w.waits[waitKey(rec.ID, rec.Start)]; ok && rec.Kind == "wait" {
		w.steps[i].recorded = true
	}
}
