// Package engine runs a loaded playbook against one target, step by step,
// with cleanup that is guaranteed: the undo stack and the playbook's
// cleanup section run on success, failure, timeout and cancellation, on a
// fresh context, and are journaled before each state-changing command so
// `runbook cleanup RUNDIR` can finish them after the engine itself was
// killed.
//
// The engine knows the run folder only through the Folder it is given
// (folder.go; package runfolder writes manifest.json, steps/NNN-<id>.txt,
// summary.md, artifacts/ and triggers report.html), called synchronously:
// each step's output and record are handed over as the step ends and kept
// on disk, not in memory. `runbook cleanup` (resume.go) drains the journal
// and decides what a finished or killed run's record says; it reads the
// step records a killed run wrote and writes the record through the
// ResumedFolder it is given (runfolder.Open; RecordedFolder). It keeps the
// journal (journal.jsonl) itself, the one file of the folder it writes:
// journal-before-send is the ledger's (an undo is fsynced before its
// command is sent, in the goroutine that sends it), so it cannot be an
// observer's.
//
// It prints nothing: everything a person or a program follows of a run is
// an Event (events.go), handed in order to Options.Observer; the terminal
// printer and the NDJSON stream are observers (package observe). Every
// event field is redacted before any observer sees it.
//
// It imports the transports interface only, never an implementation, and
// never cobra or os.Stdout.
package engine
