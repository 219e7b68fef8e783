package engine

import (
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

// Folder is the run folder as the engine sees it: the engine knows no
// file in it beyond these calls (package runfolder writes them,
// docs/run-folder.md). Every call is synchronous, made from the goroutine
// running the run, and returns once what it was given is written (or
// failed): a step's output and record are not left in a buffer that a
// killed engine would lose. None may be retried blindly: Output and Step
// append. What the engine hands over is already redacted.
//
// The journal is not the folder's: it is the ledger's durability (an undo
// is on disk before its command is sent) and `runbook cleanup` drains it,
// so the engine keeps it (journal.go) in Dir() under JournalFile.
type Folder interface {
	// Dir is the folder's path, as events and Result report it.
	Dir() string
	// Output writes the (redacted) output of a command as rel
	// (steps/NNN-label.txt) and returns its sha256 in hex.
	Output(rel string, b []byte) (sha256 string, err error)
	// Artifact opens a file to be pulled into artifacts/.
	Artifact() (Artifact, error)
	// Step records one executed step, in order: it is in manifest.json
	// once the run ends.
	Step(rec StepRecord) error
	// Checkpoint writes the manifest of the run so far (m's Steps are
	// ignored: the folder has them from Step), so a killed run still has
	// a record for `runbook cleanup` to complete.
	Checkpoint(m *Manifest) error
	// End writes the finished record: manifest.json with every step
	// recorded, and summary.md (and what the folder was set up to render
	// from them). m's Steps are ignored.
	End(m *Manifest) error
	// Written reads back the manifest as it was written to disk (the
	// redacted one) without its steps: Steps is nil, the steps stay on
	// disk (runfolder.Scan reads them one at a time).
	Written() (*Manifest, error)
	// Discard removes the folder: the run sent nothing, so it keeps none.
	Discard() error
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
}
