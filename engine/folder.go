package engine

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// FolderSpec says where a run's folder goes and what it is named from:
// the engine hands it to Options.Folder once the run may start (its input
// was accepted), never before, so a refused run creates no folder.
type FolderSpec struct {
	// OutDir is where the folder is created; Dir, when set, is the exact
	// folder to use.
	OutDir, Dir string
	// Start is when the run started (UTC); Playbook and Target name it.
	Start            time.Time
	Playbook, Target string
}

// Folder is the run folder as the engine sees it: an observer of the
// run's events that can fail. The engine knows no file in it beyond these
// calls (package runfolder writes them, docs/run-folder.md).
//
// Record gets every event of the run, the same ordered stream as
// Options.Observer, and gets each first: the engine hands an event to
// the other observers only once Record returned, so a step-ended seen
// on the terminal or in the NDJSON stream is already on disk. What the
// folder writes comes in the event's Write (FolderWrite: a command's
// output, a step record, the manifest), which no other observer sees.
// Unlike Observer.Event, Record returns an error, and the engine handles
// it where it knows what failed: an output that cannot be written is a
// problem of its step (an *OutputError; the step is recorded without
// it), a record or manifest that cannot be written is a problem of the
// run, and a run-started whose manifest cannot be written refuses the
// run before anything is sent. Record is synchronous, called from the
// goroutine running the run, and returns once what it was given is
// written (or failed): a step's output and record are not left in a
// buffer that a killed engine would lose. It is never retried: a step
// record appends. What the engine hands over is already redacted.
//
// What cannot be an event stays a method: the export's file, streamed
// from the device as it arrives (Artifact; its export-progress events
// report it), the manifest read back as written (Written), and the
// removal of a folder the run keeps not (Discard).
//
// The journal is not the folder's: it is the ledger's durability (an undo
// is on disk before its command is sent) and `runbook cleanup` drains it,
// so the engine keeps it (journal.go) in Dir() under JournalFile.
type Folder interface {
	// Dir is the folder's path, as events and Result report it.
	Dir() string
	// Record writes what e carries in e.Write, if anything: on
	// run-started, manifest.json of the run so far (Write.Manifest, its
	// Steps ignored), so a killed run still has a record for `runbook
	// cleanup` to complete; on any event, Write.Output as Write.File and
	// Write.Step, in order (with Output and SHA256 set to that file and
	// its sha256 when one was written); on run-ended the finished record:
	// manifest.json with every step recorded, summary.md (and what the
	// folder was set up to render from them). An event without Write
	// writes nothing.
	Record(e Event) error
	// Artifact opens a file to be pulled into artifacts/.
	Artifact() (Artifact, error)
	// Written reads back the manifest as it was written to disk (the
	// redacted one) without its steps: Steps is nil, the steps stay on
	// disk (runfolder.Scan reads them one at a time).
	Written() (*Manifest, error)
	// Discard removes the folder: the run sent nothing, so it keeps none.
	Discard() error
}

// FolderWrite is what the run folder writes for one event (Event.Write):
// the engine sets it on the events below, and clears it before any other
// observer gets the event. It and what it points to are the engine's,
// and valid only during Record: the folder keeps none of it (the engine
// reuses them).
//
//   - step-ended of a command: Step, its record, and Output, what the
//     device answered (redacted), to be written as File
//     (steps/NNN-label.txt); of an export, Step (its Output the file
//     Artifact kept).
//   - step-skipped, wait-ended (of a wait step), prompt-answered, note (of
//     a note step): Step.
//   - form-refused, form-accepted, cleanup-entry-ended of a cleanup
//     entry: File and Output, what the device answered to the form sent
//     just before (steps/NNN-cleanup-command.txt).
//   - run-started: Manifest, the record so far (a checkpoint); run-ended:
//     Manifest, the finished record.
type FolderWrite struct {
	// File is where Output goes, relative to the folder.
	File   string
	Output []byte
	// Step is a step record to append, in order. When File is set and
	// written, the record names it: Output File, SHA256 its sha256 in
	// hex.
	Step *StepRecord
	// Manifest is the run's record, its Steps ignored (the folder has
	// them from Step).
	Manifest *Manifest
}

// OutputError is a Folder.Record error: File could not be written. The
// rest of what the event carried (the step record, naming no output) was
// recorded, unless an error joined with this one says otherwise.
type OutputError struct {
	File string
	Err  error
}

func (e *OutputError) Error() string { return fmt.Sprintf("could not write %s: %v", e.File, e.Err) }

func (e *OutputError) Unwrap() error { return e.Err }

// splitOutput tells an *OutputError in err apart from the rest of err
// (nil when there is none).
func splitOutput(err error) (*OutputError, error) {
	if err == nil {
		return nil, nil
	}
	var oe *OutputError
	if !errors.As(err, &oe) {
		return nil, err
	}
	if err == error(oe) {
		return oe, nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var rest []error
		for _, e := range j.Unwrap() {
			if e != error(oe) {
				rest = append(rest, e)
			}
		}
		return oe, errors.Join(rest...)
	}
	return oe, nil
}

// Artifact is a file being pulled into a run folder's artifacts/.
type Artifact interface {
	io.WriteCloser
	// Keep names the closed file artifacts/<name> and returns that
	// relative path.
	Keep(name string) (string, error)
	// Sync commits the file's contents to stable storage (once, when the
	// download is complete).
	Sync() error
	// Remove deletes the file (a failed or cut-short export).
	Remove()
}

// ResumedFolder is the run folder of a run that ended, or whose engine
// was killed, as `runbook cleanup` completes it (FinishCleanup,
// CompleteRunFolder): as with Folder, the engine knows no file in it
// beyond these calls (package runfolder: runfolder.Open). The journal in
// Dir() is the engine's, read and appended by the engine itself.
type ResumedFolder interface {
	// Dir is the folder's path.
	Dir() string
	// Manifest reads manifest.json back without its steps (Steps nil:
	// they stay on disk), with a bounded footprint. The error wraps
	// fs.ErrNotExist when the run wrote none.
	Manifest() (*Manifest, error)
	// StepOutput is the output file the run wrote for step seq
	// (steps/NNN-label.txt) and its sha256 in hex: "", "" when there is
	// none (the engine died before writing it), the hash "" when it
	// cannot be read.
	StepOutput(seq int) (rel, sha256 string)
	// Rewrite writes manifest.json from m, atomically: its steps are
	// those manifest.json holds now (none when there is none), then
	// m.Steps; then summary.md from it. m is already redacted. The steps
	// are streamed, never all held; it may be retried.
	Rewrite(m *Manifest) error
	// Records hands fn, in order and one at a time (never all held), each
	// step record the run wrote before it was killed. torn, when not "",
	// says that an incomplete last record (a write the kill cut short)
	// was ignored, and where; any other record that cannot be read is an
	// error. The error wraps fs.ErrNotExist when the run left none (it
	// ended, or its folder keeps no records). While the records are
	// there, Rewrite streams them, not the steps manifest.json holds,
	// then m.Steps, and it removes them once manifest.json and summary.md
	// are written. It may be retried.
	Records(fn func(StepRecord) error) (torn string, err error)
	// ReadOutput reads up to limit bytes of rel, a file the run wrote
	// (a step's output or an artifact, relative to Dir()), and returns
	// them with the file's size.
	ReadOutput(rel string, limit int) ([]byte, int64, error)
}
