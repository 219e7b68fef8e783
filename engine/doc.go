// Package engine runs a loaded playbook against one target, step by step,
// with cleanup that is guaranteed: the undo stack and the playbook's
// cleanup section run on success, failure, timeout and cancellation, on a
// fresh context, and are journaled before each state-changing command so
// `runbook cleanup RUNDIR` can finish them after the engine itself was
// killed.
//
// The engine knows the run folder only through the Folder it is given
// (folder.go; package runfolder writes manifest.json, steps/NNN-<id>.txt,
// summary.md, artifacts/ and triggers report.html): an observer of the
// run's events that can fail. Folder.Record gets every event first,
// synchronously, with what it writes in the event's Write (a command's
// redacted output, the step record, the manifest: never encoded, nil for
// every other observer), and returns an error the engine handles where it
// knows what failed; only then do the other observers get the event, so
// each step's output and record are on disk, not in memory, before anyone
// sees the step end. What cannot be an event stays a method: an export's
// streamed file (Artifact), the manifest read back (Written), Discard.
// `runbook cleanup` (resume.go) drains the journal and decides what a
// finished or killed run's record says; it reads the step records a
// killed run wrote and writes the record through the ResumedFolder it is
// given (runfolder.Open). It keeps the journal
// (journal.jsonl) itself, the one file of the folder it writes:
// journal-before-send is the ledger's (an undo is fsynced before its
// command is sent, in the goroutine that sends it), so it cannot be an
// observer's.
//
// A run's memory does not grow with its steps (docs/run-folder.md, "Flat
// memory"): it goes over the top-level steps with playbook.EachStep, which
// decodes a long playbook's steps from its file again as the run reaches
// them, so no step it is done with is held; what it needs before the
// first step (whether one prompts, the capture names, the steps whose
// steps.<id> it keeps) the playbook knew when it loaded (HasPrompt,
// CaptureNames, KeptSteps). Step records and outputs are in the folder;
// what stays in memory per step is the ledger's entry of each armed undo.
//
// It prints nothing: everything a person or a program follows of a run is
// an Event (events.go), handed in order to the Folder, then to
// Options.Observer; the terminal printer and the NDJSON stream are
// observers (package observe). Every event field is redacted before any
// observer, the folder included, sees it.
//
// It imports the transports interface only, never an implementation, and
// never cobra or os.Stdout.
package engine
