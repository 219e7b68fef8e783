package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/secret"
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

// FinishCleanup runs, from a run folder's journal, every undo and cleanup
// entry not yet done (undo newest first, then cleanup), and journals each
// result, so running it twice does nothing the second time. It is how a run
// whose engine was killed is finished (`runbook cleanup RUNDIR`).
func FinishCleanup(ctx context.Context, dir string, open func(context.Context) (transports.Transport, error), out io.Writer, redact func(string) string) (CleanupReport, error) {
	var rep CleanupReport
	if redact == nil {
		redact = func(s string) string { return s }
	}
	_, entries, err := ReadRunStart(dir)
	if err != nil {
		return rep, err
	}
	pending := Pending(entries)
	if len(pending) == 0 {
		fmt.Fprintf(out, "runbook: %s: nothing left to clean up\n", dir)
		return rep, nil
	}
	j, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		return rep, err
	}
	defer j.Close()
	tr, err := open(ctx)
	if err != nil {
		return rep, err
	}
	defer tr.Close()
	var done []PendingEntry
	for _, p := range pending {
		fmt.Fprintf(out, "  %s: %s\n", entryKind(p.Key), p.Command)
		var err error
		if strings.Contains(p.Command, secret.Placeholder) {
			// The journal never holds a secret: this command cannot be
			// rebuilt from it, and sending the placeholder would be wrong.
			err = errors.New("the command holds a secret, which the journal does not keep: run it on the device by hand")
		} else {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err = tr.Run(cctx, transports.Command{CLI: p.Command, Shown: p.Command, Timeout: 30 * time.Second})
			cancel()
		}
		e := JournalEntry{Time: time.Now().UTC(), Event: evCleanupEntry, Key: p.Key, Command: p.Command, Status: "ok"}
		if err != nil {
			e.Status, e.Error = "failed", redact(err.Error())
			rep.Failed = append(rep.Failed, p.Command)
			fmt.Fprintf(out, "      FAILED: %s\n", e.Error)
		} else {
			rep.Done = append(rep.Done, p.Command)
			done = append(done, p)
			fmt.Fprintf(out, "      ok\n")
		}
		if jerr := j.Append(e); jerr != nil {
			return rep, jerr
		}
	}
	// Keep the manifest and the summary in step, if the run got far enough
	// to write a manifest.
	if m, err := ReadManifest(dir); err == nil {
		if m.Status == "running" {
			// The engine died mid-run: rebuild what it did from the journal.
			rebuildFromJournal(dir, m, entries)
		}
		m.CleanupPending = rep.Failed
		for _, p := range done {
			rec := CleanupRecord{Command: p.Command, Status: "ok", Time: time.Now().UTC(), Note: "by runbook cleanup"}
			if entryKind(p.Key) == "cleanup" {
				m.Cleanup = append(m.Cleanup, rec)
			} else {
				m.Undo = append(m.Undo, rec)
			}
		}
		m.ExitCode = ExitCode(Status(m.Status), len(rep.Failed) > 0)
		if b, err := marshalManifest(m); err == nil {
			_ = WriteFileAtomic(filepath.Join(dir, "manifest.json"), b)
		}
		_ = writeSummary(dir, m)
	}
	return rep, nil
}

// entryKind labels a pending entry by its key: undo or cleanup.
func entryKind(key string) string {
	if strings.HasPrefix(key, "cleanup-") {
		return "cleanup"
	}
	return "undo"
}

// CompleteRunFolder makes the record of a run whose engine ended without
// writing it (killed, or forced out by a third signal) say what happened:
// manifest.json is rebuilt from the journal (its status, every step and
// every undo and cleanup record the journal holds, what is still pending)
// and summary.md is written. A run that wrote its own end, or whose record
// was already completed, is left as it is, so calling it again changes
// nothing. It reports whether it rebuilt the record. runbook cleanup calls
// it whether or not anything was left to send.
func CompleteRunFolder(dir string) (bool, error) {
	start, entries, err := ReadRunStart(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Event == evRunEnd {
			return false, nil
		}
	}
	m, err := ReadManifest(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Killed between the journal's first line and the first manifest.
		m = &Manifest{Version: ManifestVersion, Playbook: ManifestPlaybook{Name: start.Playbook}, Target: ManifestTarget{Name: start.Target, Transport: start.Transport},
			Started: start.Time, Status: "running", Steps: []StepRecord{}, Undo: []CleanupRecord{}, Cleanup: []CleanupRecord{}, Findings: []FindingRecord{}, Artifacts: []ArtifactRecord{}}
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
	rebuildFromJournal(dir, m, entries)
	m.CleanupPending = nil
	for _, p := range Pending(entries) {
		m.CleanupPending = append(m.CleanupPending, p.Command)
	}
	m.ExitCode = ExitCode(Status(m.Status), len(m.CleanupPending) > 0)
	b, err := marshalManifest(m)
	if err != nil {
		return false, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, "manifest.json"), b); err != nil {
		return false, err
	}
	return true, writeSummary(dir, m)
}

// rebuildFromJournal fills the manifest of a run whose engine was killed:
// the steps it started (with their outputs, where written), the undo and
// cleanup commands it ran (also those that completed before it died), and
// its end.
func rebuildFromJournal(dir string, m *Manifest, entries []JournalEntry) {
	m.Status = string(StatusInterrupted)
	m.Error = "the run ended before it could write its record (the engine was killed, or forced to exit); runbook cleanup rebuilt it from the journal"
	bySeq := map[int]int{}
	for _, e := range entries {
		switch e.Event {
		case evCleanupEntry:
			rec := CleanupRecord{Command: e.Command, Status: e.Status, Error: e.Error, Time: e.Time, Note: e.Message}
			if entryKind(e.Key) == "cleanup" {
				m.Cleanup = append(m.Cleanup, rec)
			} else {
				m.Undo = append(m.Undo, rec)
			}
		case evStepStart:
			rec := StepRecord{Seq: e.Seq, ID: e.Step, Kind: "run", Command: e.Command, Item: e.Item, Start: e.Time, Status: "interrupted"}
			if matches, _ := filepath.Glob(filepath.Join(dir, "steps", fmt.Sprintf("%03d-*.txt", e.Seq))); len(matches) == 1 {
				rec.Output = filepath.ToSlash(filepath.Join("steps", filepath.Base(matches[0])))
				if b, err := os.ReadFile(matches[0]); err == nil {
					h := sha256.Sum256(b)
					rec.SHA256 = hex.EncodeToString(h[:])
				}
			}
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
