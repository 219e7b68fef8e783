package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports"
)

// ErrNotRunFolder is returned by ReadRunStart for a folder with no journal.
var ErrNotRunFolder = errors.New("not a run folder (no journal.jsonl)")

// ReadRunStart returns the run-start entry of a run folder's journal: the
// playbook, target and transport of the run.
func ReadRunStart(dir string) (JournalEntry, []JournalEntry, error) {
	entries, err := ReadJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return JournalEntry{}, nil, fmt.Errorf("%s: %w", dir, ErrNotRunFolder)
		}
		return JournalEntry{}, nil, err
	}
	for _, e := range entries {
		if e.Event == evRunStart {
			return e, entries, nil
		}
	}
	return JournalEntry{}, nil, fmt.Errorf("%s: journal has no run-start entry", dir)
}

// CleanupReport is what FinishCleanup did.
type CleanupReport struct {
	Done   []string
	Failed []string
}

// FinishCleanup drains, from the journal of the run folder f, every undo and
// cleanup entry not yet done, by the same ledger as the run itself (undo
// newest first, then cleanup; the same labels, timeouts and reopen
// policy), and journals each result, so running it twice does nothing the
// second time. It is how a run whose engine was killed is finished
// (`runbook cleanup RUNDIR`). It returns open's error if the device cannot
// be reached before anything is sent. Its events (cleanup-started with
// Resume set, each entry, cleanup-ended) go to obs, which may be nil.
func FinishCleanup(ctx context.Context, f ResumedFolder, open func(context.Context) (transports.Transport, error), obs Observer, redact func(string) string) (CleanupReport, error) {
	var rep CleanupReport
	dir := f.Dir()
	if redact == nil {
		redact = func(s string) string { return s }
	}
	start, entries, err := ReadRunStart(dir)
	if err != nil {
		return rep, err
	}
	l := NewLedger(entries)
	now := func() time.Time { return time.Now().UTC() }
	em := &emitter{obs: obs, target: start.Target, now: now}
	pending := l.Pending()
	n := map[EntryKind]int{}
	for _, p := range pending {
		n[p.Key.Kind]++
	}
	em.emit(Event{Type: EvCleanupStarted, Resume: true, Dir: dir, UndoCount: n[KindUndo], CleanupCount: n[KindCleanup]})
	if len(pending) == 0 {
		em.emit(Event{Type: EvCleanupEnded, Resume: true, Dir: dir})
		return rep, nil
	}
	j, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		return rep, err
	}
	defer j.Close()
	ctx, cancel := context.WithTimeout(ctx, DefaultCleanupTimeout)
	defer cancel()
	tr, err := open(ctx)
	if err != nil {
		return rep, err
	}
	s := &session{open: open, tr: tr, clock: realClock{}, emit: em.emit}
	defer func() {
		if s.tr != nil {
			_ = s.tr.Close()
		}
	}()
	d := &drainer{l: l, j: j, s: s, now: now, redact: redact, note: "by runbook cleanup", later: true}
	var done []drained
	for _, r := range d.drain(ctx) {
		if r.rec.Status == "ok" {
			rep.Done = append(rep.Done, r.rec.Command)
			done = append(done, r)
		} else {
			rep.Failed = append(rep.Failed, r.rec.Command)
		}
	}
	em.emit(Event{Type: EvCleanupEnded, Resume: true, Dir: dir, Pending: l.Shown()})
	// Keep the manifest and the summary in step, if the run got far enough
	// to write a manifest.
	if m, err := f.Manifest(); err == nil {
		if m.Status == "running" {
			// The engine died mid-run: rebuild what it did from what it
			// recorded. A record that cannot be read is left as it is
			// (CompleteRunFolder says why).
			if err := rebuildRecord(f, m, entries); err != nil {
				return rep, nil
			}
		}
		m.CleanupPending = l.Shown()
		for _, r := range done {
			if r.entry.Key.Kind == KindCleanup {
				m.Cleanup = append(m.Cleanup, r.rec)
			} else {
				m.Undo = append(m.Undo, r.rec)
			}
		}
		m.ExitCode = ExitCode(Status(m.Status), len(m.CleanupPending) > 0, FailsOn(m.Findings, playbook.Severity(m.FailOn)))
		_ = f.Rewrite(m)
	}
	return rep, nil
}

// CompleteRunFolder makes the record of a run whose engine ended without
// writing it (killed, or forced out by a third signal) say what happened:
// manifest.json is rebuilt from what the run recorded (rebuildRecord:
// every step record it wrote, when the folder has them,
// and the journal: its status, the steps it started with no record, every
// undo and cleanup record it holds, what is still pending), with the
// missing evidence, and summary.md is written; then the records are
// removed. A run that wrote its own end, or whose record
// was already completed, is left as it is, so calling it again changes
// nothing. It reports whether it rebuilt the record. runbook cleanup calls
// it whether or not anything was left to send. It writes through f, the
// run's folder; rebuilt is false when that failed.
func CompleteRunFolder(f ResumedFolder) (bool, error) {
	start, entries, err := ReadRunStart(f.Dir())
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Event == evRunEnd {
			return false, nil
		}
	}
	m, err := f.Manifest()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Killed between the journal's first line and the first manifest.
		m = &Manifest{Version: ManifestVersion, Playbook: ManifestPlaybook{Name: start.Playbook}, Target: ManifestTarget{Name: start.Target, Transport: start.Transport},
			Started: start.Time, Status: "running", Undo: []CleanupRecord{}, Cleanup: []CleanupRecord{}, Findings: []FindingRecord{}, Artifacts: []ArtifactRecord{}}
		if len(start.Params) > 0 {
			m.Params = map[string]any{}
			for k, v := range start.Params {
				m.Params[k] = v
			}
		}
	case err != nil:
		return false, err
	}
	if m.Status != "running" {
		return false, nil
	}
	if err := rebuildRecord(f, m, entries); err != nil {
		return false, err
	}
	m.CleanupPending = nil
	for _, p := range Pending(entries) {
		m.CleanupPending = append(m.CleanupPending, ShowForms(p.Forms))
	}
	m.ExitCode = ExitCode(Status(m.Status), len(m.CleanupPending) > 0, FailsOn(m.Findings, playbook.Severity(m.FailOn)))
	if err := f.Rewrite(m); err != nil {
		return false, err
	}
	return true, nil
}

// The error of a record rebuilt by runbook cleanup.
const (
	errRebuiltJournal = "the run ended before it could write its record (the engine was killed, or forced to exit); runbook cleanup rebuilt it from the journal"
	errRebuiltRecords = "the run ended before it could write its record (the engine was killed, or forced to exit); runbook cleanup rebuilt it from the step records the run wrote and the journal"
)

// errCutShort is the missing evidence's error of a step the kill cut
// short: its command was sent, nothing of it was recorded.
const errCutShort = "cut short: the engine was killed while this step ran, so its output is not in the run folder"

// started is a step the journal shows sent, or a wait: step it shows
// ended (wait: its record is rebuilt from the journal when the kill lost
// it), in a rebuilt record (rebuildRecord).
type started struct {
	start    JournalEntry
	end      *JournalEntry
	recorded bool
	wait     bool
}

// rebuildRecord fills the manifest of a run whose engine was killed
// from what the run recorded: the step records it wrote (when f is a
// folder that has them: streamed, never all held) and its
// journal, the authority on what was sent and what must be undone. The
// records stay on disk for Rewrite to stream into manifest.json; the
// steps the journal shows started with no record (the step the kill cut
// short) are appended to m.Steps, rebuilt from the journal with their
// output where f has it. It also rebuilds the missing evidence as a
// finished run lists it, the artifacts the records name and the device's
// clock, and records the undo and cleanup commands the run ran (also
// those that completed before it died), its notes and its end. It
// returns the error of records that cannot be read; m is then not to be
// written.
func rebuildRecord(f ResumedFolder, m *Manifest, entries []JournalEntry) error {
	m.Status = string(StatusInterrupted)
	m.Error = errRebuiltJournal
	w := walkJournal(m, entries)
	steps, wait, stopped, plan, planStep, at, undo := w.steps, w.wait, w.stopped, w.plan, w.planStep, w.at, w.undo
	planAt, once, isRefused := w.planAt, w.once, w.isRefused
	mb := &missingFromRecords{m: m, undo: w.undo, sends: w.failedSends, failed: w.failedAfterSend}
	err := fromRecords(f, m, mb, w.seen)
	if err != nil {
		return err
	}
	// The step of several sends the run was at when it ended (the last
	// it started, nothing after it), and where in it: the runs it did not
	// take are missing (sendMissing), unless the run ended in a wait.
	var sent []MissingRecord
	if planAt >= 0 && planAt == len(steps)-1 && !w.endedInWait() {
		st := steps[planAt]
		status, errText := "", ""
		if st.end != nil {
			status, errText = st.end.Status, st.end.Error
		}
		if status == "ok" && !st.recorded {
			if out, _ := f.StepOutput(st.start.Seq); out == "" {
				status = "" // its output is not in the folder: not taken
			}
		}
		dropForms(plan, isRefused)
		sent = sendMissing(planStep, plan, at, st.start.Seq, status, errText)
		if len(sent) == 0 {
			planAt = -1 // nothing held back: the step is listed as before
		}
	} else if st := len(steps) - 1; once >= 0 && once == st && !w.endedInWait() && steps[st].end != nil && steps[st].end.Stopped && steps[st].end.Status != "ok" {
		// A step sent once, the run stopped while it sent it: missing by
		// the same rule, as the run lists it.
		e, end := steps[st].start, steps[st].end
		if e.Kind == kindExport {
			// An export, stopped while it exported: listed as the run
			// lists it (exportMissing).
			sent = exportMissing(e.Step, e.Seq, e.Command, end.Status, exportByHandOf(e.Command), e.NotEvidence)
		} else {
			forms := []string(e.Forms) // a one_of's forms; none in a journal from before them
			if len(forms) == 0 {
				forms = []string{e.Command}
			}
			forms = oneOfLeft(forms, isRefused)
			sent = sendMissing(e.Step, oneSend(forms, e.Item, undo[e.Seq], e.NotEvidence), sendAt{run: 1}, e.Seq, end.Status, end.Error)
		}
		planAt = -1
		if len(sent) > 0 {
			planAt = st
		}
	} else {
		planAt = -1
	}
	for i, st := range steps {
		if i == planAt {
			// Listed with the runs not taken, below, not as cut short.
			if !st.recorded {
				mb.confirm()
				m.Steps = append(m.Steps, sentRecord(f, st))
			}
			continue
		}
		if st.recorded {
			continue
		}
		e := st.start
		if st.wait {
			// Ended, and its record lost to the kill (written right after
			// its wait-end): what the run would have recorded, but its line.
			rec := StepRecord{ID: e.Step, Kind: "wait", Start: e.Time, End: st.end.Time, Status: st.end.Status,
				Note: fmt.Sprintf("wait %s %s", time.Duration(e.WaitMS)*time.Millisecond, e.Message)}
			m.Steps = append(m.Steps, rec)
			mb.add(rec)
			continue
		}
		rec := sentRecord(f, st)
		m.Steps = append(m.Steps, rec)
		if st.end == nil && rec.Output == "" {
			mb.cutShort(rec)
			continue
		}
		mb.add(rec)
	}
	switch {
	case wait != nil:
		// The run went on to this wait, and no further.
		mb.confirm()
		what := waitCutShort(*wait)
		held := pauseMissing(wait.Step, wait.Pause, pauseStopper(""))
		if len(held) > 0 {
			what += "; " + heldBackNote(wait.Step, wait.Pause)
		}
		m.Notes = append(m.Notes, "runbook cleanup: "+what)
		if wait.Kind == "wait" { // a wait: step; a pause has no record of its own
			d := time.Duration(wait.WaitMS) * time.Millisecond
			m.Steps = append(m.Steps, StepRecord{ID: wait.Step, Kind: "wait", Start: wait.Time, Status: "interrupted",
				Note: fmt.Sprintf("wait %s %s", d, wait.Message), Error: "cut short: " + what})
		}
		m.Missing = append(m.Missing, held...)
	case stopped != nil:
		// Stopped in a pause, the run listed what it held back; its
		// manifest was lost with the engine, so that is listed again here.
		mb.confirm()
		m.Missing = append(m.Missing, pauseMissing(stopped.Step, stopped.Pause, pauseStopper(w.stoppedEnd.Status))...)
	case len(sent) > 0:
		// Stopped, or killed, while the step sent: its failed send did not
		// let the run go on, so it is listed with the runs not taken.
		mb.last = nil
		m.Missing = append(m.Missing, sent...)
	}
	return nil
}

// waitKey matches the wait: step whose wait-start says step and start
// with its record (whose start it is).
func waitKey(step string, start time.Time) string {
	return step + "\x00" + start.UTC().Format(time.RFC3339Nano)
}

// sentRecord is the record of the send st whose record the kill lost:
// what its step-start and step-end (if any) say, its output if the folder
// has it, interrupted when it has no step-end.
func sentRecord(f ResumedFolder, st started) StepRecord {
	e := st.start
	rec := StepRecord{Seq: e.Seq, ID: e.Step, Kind: "run", Command: e.Command, Item: e.Item, Start: e.Time, Status: "interrupted", NotEvidence: e.NotEvidence}
	if e.Kind == kindExport || strings.HasPrefix(e.Command, "export ") { // an export step (a journal from before kind: one pulled by the transport, export.go)
		rec.Kind = "export"
	}
	rec.Output, rec.SHA256 = f.StepOutput(e.Seq)
	if st.end != nil {
		rec.End, rec.Status, rec.Error = st.end.Time, st.end.Status, st.end.Error
	}
	return rec
}

// heldBackNote says, in the note of a pause the kill cut short, what the
// pause held back of step: the same as its missing evidence.
func heldBackNote(step string, p *Pause) string {
	what, _ := pauseHeldBack(p)
	name := step
	if name == "" && len(p.Sends) > 0 && len(p.Sends[0].Forms) > 0 {
		name = "`" + p.Sends[0].Forms[0] + "`"
	}
	return "step " + name + " was paused before " + what + " (listed in the missing evidence)"
}

// waitCutShort says that the kill cut short the wait whose wait-start is
// e: how long it was to last, what for, when it started and was to end.
func waitCutShort(e JournalEntry) string {
	if e.Kind == kindMeet {
		// How long is the case's to say: the engine knows the bound of
		// no meeting.
		return fmt.Sprintf("the engine was killed while the run waited for the other targets of its case (%s), from %s; the steps before it ran (in steps), nothing after it did",
			e.Message, e.Time.UTC().Format(time.RFC3339))
	}
	d := time.Duration(e.WaitMS) * time.Millisecond
	why := ""
	if e.Message != "" {
		why = " (" + e.Message + ")"
	}
	return fmt.Sprintf("the engine was killed during a wait of %s%s, which started at %s and was to end at %s; nothing after it ran",
		d, why, e.Time.UTC().Format(time.RFC3339), e.Time.Add(d).UTC().Format(time.RFC3339))
}

// fromRecords streams the step records f holds into m, the manifest
// rebuildRecord fills: each to mb (the missing evidence) and to seen,
// and what they say of m's end, device clock and artifacts. With
// records, m.Error says the record was rebuilt from them, and a torn last
// one is noted; none (fs.ErrNotExist: the journal alone) is no error.
func fromRecords(f ResumedFolder, m *Manifest, mb *missingFromRecords, seen func(rec *StepRecord)) error {
	artifacts := map[string]bool{}
	for _, x := range m.Artifacts {
		artifacts[x.Path] = true
	}
	torn, err := f.Records(func(rec StepRecord) error {
		seen(&rec)
		mb.add(rec)
		if rec.End.After(m.Ended) {
			m.Ended = rec.End
		}
		if m.DeviceClock == "" && rec.Command == "show clock" && rec.Status == "ok" && rec.Output != "" {
			if b, _, err := f.ReadOutput(rec.Output, 4<<10); err == nil {
				m.DeviceClock = strings.TrimSpace(string(b))
			}
		}
		if a, ok := artifactOf(f, rec); ok && !artifacts[a.Path] {
			artifacts[a.Path] = true
			m.Artifacts = append(m.Artifacts, a)
		}
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	m.Error = errRebuiltRecords
	if torn != "" {
		m.Notes = append(m.Notes, fmt.Sprintf("runbook cleanup: the last step record the run wrote was cut short by the kill and is ignored (%s); that step is rebuilt from the journal", torn))
	}
	return nil
}

// missingFromRecords rebuilds the missing evidence of a killed run from
// its step records, in order, as the run would have listed it (missed):
// a command or export that failed, timed out or was refused and after
// which the run went on (a later step was recorded or started: a step
// that stops the run is followed by none), and each step the kill cut
// short. A record of a step that says `evidence: false` (NotEvidence)
// is never listed, as missed does not list it. What a record does not say
// cannot be told: a step that failed after its command ran (its until:, a
// capture) is not listed. A step the kill cut short is rebuilt from the
// journal, whose step-start says `evidence: false` too.
type missingFromRecords struct {
	m    *Manifest
	undo map[int][]string
	// sends are the missing evidence of a failed send of a step of
	// several sends, by its seq: the runs (items) it left untaken, its
	// own among them, listed instead of its record alone.
	sends map[int][]MissingRecord
	// failed are the steps that failed after a send was taken, by its
	// seq (the journal's step-failed): listed as the run lists them.
	failed map[int]afterSend
	// last is the last failed record (or a failed send's sends), listed
	// once a later step shows that the run went on.
	last []MissingRecord
}

// afterSend is a step-failed entry: the step's error, and the runs and
// items after the send it names that were not taken.
type afterSend struct {
	err   string
	after []MissingRecord
}

func (b *missingFromRecords) add(rec StepRecord) {
	b.confirm()
	if rec.Kind != "run" && rec.Kind != "export" {
		return
	}
	f, failed := b.failed[rec.Seq]
	if failed && rec.Kind == "run" && rec.Status == "ok" && !rec.NotEvidence {
		// The step failed after this send and the run went on (the
		// journal says so): listed now, as missed lists it.
		b.m.Missing = append(b.m.Missing, MissingRecord{Seq: rec.Seq, Step: rec.ID, Kind: rec.Kind, Item: rec.Item, Run: rec.Run, Command: rec.Command,
			Status: "failed", Error: f.err, ByHand: byHandNote(rec.Command, nil)})
		b.m.Missing = append(b.m.Missing, f.after...)
		return
	}
	switch rec.Status {
	case "failed", "timeout", "refused":
	default:
		return
	}
	if rec.NotEvidence {
		return
	}
	m := MissingRecord{Seq: rec.Seq, Step: rec.ID, Kind: rec.Kind, Item: rec.Item, Run: rec.Run, Command: rec.Command, Status: rec.Status, Error: rec.Error}
	if m.Error == "" {
		m.Error = rec.Status
	}
	m.ByHand = b.byHand(rec)
	b.last = []MissingRecord{m}
	if out, ok := b.sends[rec.Seq]; ok && rec.Kind == "run" {
		b.last = out
	}
	if failed {
		b.confirm() // the journal says the run went on after it
	}
}

// cutShort lists rec, a step the kill cut short, as missing, unless it
// takes no evidence (its step-start says `evidence: false`).
func (b *missingFromRecords) cutShort(rec StepRecord) {
	b.confirm()
	if rec.NotEvidence {
		return
	}
	b.m.Missing = append(b.m.Missing, MissingRecord{Seq: rec.Seq, Step: rec.ID, Kind: rec.Kind, Item: rec.Item, Command: rec.Command,
		Status: rec.Status, Error: errCutShort, ByHand: b.byHand(rec)})
}

// confirm lists the last failed record: a step came after it.
func (b *missingFromRecords) confirm() {
	b.m.Missing = append(b.m.Missing, b.last...)
	b.last = nil
}

// byHand says how to take rec's evidence by hand, in the run's words
// (byHandForms, notOverAPINote, exportByHand): the undo is the journal's.
func (b *missingFromRecords) byHand(rec StepRecord) string {
	if rec.Status == "refused" && rec.Note != "" {
		return rec.Note
	}
	if rec.Kind == "export" {
		return exportByHandOf(rec.Command)
	}
	var forms []string
	for _, r := range rec.Refused {
		forms = append(forms, r.Command)
	}
	if !slices.Contains(forms, rec.Command) {
		forms = append(forms, rec.Command)
	}
	return byHandForms(forms, b.undo[rec.Seq])
}

// artifactOf is the artifact an export's record names (a file pulled
// into artifacts/), its size read from the folder.
func artifactOf(f ResumedFolder, rec StepRecord) (ArtifactRecord, bool) {
	if rec.Kind != "export" || rec.Status != "ok" || !strings.HasPrefix(rec.Output, "artifacts/") {
		return ArtifactRecord{}, false
	}
	_, size, err := f.ReadOutput(rec.Output, 0)
	if err != nil {
		return ArtifactRecord{}, false
	}
	a := ArtifactRecord{Step: rec.ID, Path: rec.Output, Size: size, SHA256: rec.SHA256}
	if c := strings.Fields(rec.Command); len(c) > 1 && c[0] == "export" {
		a.Category = c[1]
	}
	return a, true
}
