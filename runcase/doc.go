// Package runcase writes the case of a run against several targets: one
// folder (runs/<time>-<playbook>-case/) holding each target's run folder,
// and at its top case.json, summary.md and report.html. They put the ends
// side by side: one timeline of every end's steps ordered by each device's
// clock (the offset of the device's clock to the engine's, measured at its
// `show clock` step), each end's findings, and how every cleanup went.
//
// It reads what the run folders hold (manifest.json and the step
// outputs), with one exception: the findings of the playbook's case:
// section (Case.Judge) are evaluated on each end's state as its run ended
// (engine.Result.End), which no folder holds; case.json keeps them, and
// Rebuild carries them over; so is how the ends sampled together
// (Sample, from fleet.Sync's meetings and the manifests). It imports the
// engine for the manifest types and EvalCase, runfolder to read each
// manifest as a stream (runfolder.Scan: one step held at a time), fleet
// for the meetings, and parse for `show clock`. It must not import cobra,
// a transport or the terminal.
package runcase
