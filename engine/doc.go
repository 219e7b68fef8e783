// Package engine runs a loaded playbook against one target, step by step,
// with cleanup that is guaranteed: the undo stack and the playbook's
// cleanup section run on success, failure, timeout and cancellation, on a
// fresh context, and are journaled before each state-changing command so
// `runbook cleanup RUNDIR` can finish them after the engine itself was
// killed.
//
// The engine writes the run folder (manifest.json, journal.jsonl,
// steps/NNN-<id>.txt, summary.md, artifacts/).
//
// It imports the transports interface only, never an implementation, and
// never cobra or os.Stdout: all output goes through Options.Out.
package engine
