package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
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
			// The engine died mid-run: rebuild what it did from the journal.
			rebuildFromJournal(f, m, entries)
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
// manifest.json is rebuilt from the journal (its status, every step and
// every undo and cleanup record the journal holds, what is still pending)
// and summary.md is written. A run that wrote its own end, or whose record
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
	rebuildFromJournal(f, m, entries)
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

// rebuildFromJournal fills the manifest of a run whose engine was killed:
// the steps it started (with their outputs, where f has them) appended to
// m.Steps, the undo and cleanup commands it ran (also those that completed
// before it died), and its end.
func rebuildFromJournal(f ResumedFolder, m *Manifest, entries []JournalEntry) {
	m.Status = string(StatusInterrupted)
	m.Error = "the run ended before it could write its record (the engine was killed, or forced to exit); runbook cleanup rebuilt it from the journal"
	bySeq := map[int]int{}
	for _, e := range entries {
		switch e.Event {
		case evCleanupEntry:
			rec := CleanupRecord{Command: e.Command, Status: e.Status, Error: e.Error, Time: e.Time, Note: e.Message}
			if k, err := ParseKey(e.Key); err == nil && k.Kind == KindCleanup {
				m.Cleanup = append(m.Cleanup, rec)
			} else {
				m.Undo = append(m.Undo, rec)
			}
		case evStepStart:
			rec := StepRecord{Seq: e.Seq, ID: e.Step, Kind: "run", Command: e.Command, Item: e.Item, Start: e.Time, Status: "interrupted"}
			rec.Output, rec.SHA256 = f.StepOutput(e.Seq)
			bySeq[e.Seq] = len(m.Steps)
			m.Steps = append(m.Steps, rec)
		case evStepEnd:
			if i, ok := bySeq[e.Seq]; ok {
				m.Steps[i].End, m.Steps[i].Status, m.Steps[i].Error = e.Time, e.Status, e.Error
			}
		case evNote:
			m.Notes = append(m.Notes, e.Message)
		}
		if !e.Time.IsZero() {
			m.Ended = e.Time
		}
	}
}
