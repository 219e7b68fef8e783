// Package runfolder owns the files of a run folder (docs/run-folder.md):
// it creates the folder (steps/, artifacts/), writes each command's
// output, streams the step records to disk as the run goes
// (.steps.jsonl), assembles manifest.json from them when the run ends
// without holding them in memory, writes summary.md (WriteSummary, its
// renderer; its timeline rows written as the run goes, .summary-rows),
// and triggers the rendering of report.html (Options.Render).
// It implements engine.Folder: an observer of the run's events that can
// fail, which the engine hands every event first, synchronously (Record),
// each carrying what to write (engine.FolderWrite); an export's file is
// streamed through Artifact. The engine knows no file of the folder.
//
// It completes the folder of a run that ended or was killed for
// `runbook cleanup` (Open: engine.ResumedFolder): manifest.json and
// summary.md rewritten, the steps streamed across.
//
// It also reads a finished folder back with a bounded footprint: Scan
// hands the steps of manifest.json over one at a time; and packs it as
// <folder>.tar.gz (Bundle, run --bundle), streamed file by file.
//
// The journal (journal.jsonl) is not written here: it is the engine's
// ledger on disk (an undo journaled before its command is sent), which
// `runbook cleanup` drains, so the engine keeps it.
//
// It imports engine for the record types; it must not import a
// transport, the report (Options.Render is given), cobra, or anything
// that writes to os.Stdout.
package runfolder
