// Package observe holds the observers of a run's events (engine.Event)
// that write them out: Text, the human progress lines runbook prints on
// the terminal, and JSON, one JSON object per event and line (NDJSON,
// `runbook run --json`, schema in docs/events.md).
//
// Neither redacts: every event field is redacted by the engine before any
// observer sees it. A write error is kept by the observer (Err) and never
// reaches the run.
//
// It imports the engine's event types only; it must not import cobra, a
// transport, or os.Stdout: the caller hands it a writer.
package observe
