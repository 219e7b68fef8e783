package fleet

import (
	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
)

// Row is one target's line of the overview a multi-target run ends with.
type Row struct {
	Target string
	// Status is the run's status (ok, failed, connect-failed, ...).
	Status   string
	ExitCode int
	Critical int
	Warning  int
	// Cleanup is "clean" (every undo and cleanup done, or none armed),
	// "pending" (Pending commands not done: the device may be in debug)
	// or "none" (nothing was sent, no folder kept).
	Cleanup string
	// Pending is the number of commands not done.
	Pending int
	// Retries is how many times the first connection was tried again.
	Retries int
	// Dir is the run folder, empty when none was kept.
	Dir string
	// Missing is the target's missing evidence (engine.MissingRecord):
	// the steps that failed and let its run go on.
	Missing []engine.MissingRecord
}

// Overview is the rows of every target, in the order added, and their
// totals.
type Overview struct {
	Rows []Row
	// Totals: targets per status, findings, targets with cleanup
	// pending, retries, and the worst exit code.
	ByStatus map[string]int
	Critical int
	Warning  int
	Dirty    int
	Retries  int
	Worst    int
}

// Summarize builds the overview of targets (names, in the order added)
// from their results and the fleet's retry counts (nil: none).
func Summarize(targets []string, results []*engine.Result, retries []int) Overview {
	ov := Overview{ByStatus: map[string]int{}}
	for i, res := range results {
		row := Row{Target: targets[i], Cleanup: "none"}
		if i < len(retries) {
			row.Retries = retries[i]
		}
		if res != nil {
			row.Status, row.ExitCode, row.Dir = string(res.Status), res.ExitCode, res.Dir
			row.Pending = len(res.Pending)
			if res.Manifest != nil {
				row.Missing = res.Manifest.Missing
				for _, f := range res.Manifest.Findings {
					switch playbook.Severity(f.Severity) {
					case playbook.SeverityCritical:
						row.Critical++
					case playbook.SeverityWarning:
						row.Warning++
					}
				}
			}
			switch {
			case row.Pending > 0:
				row.Cleanup = "pending"
			case res.Dir != "":
				row.Cleanup = "clean"
			}
		}
		ov.Rows = append(ov.Rows, row)
		ov.ByStatus[row.Status]++
		ov.Critical += row.Critical
		ov.Warning += row.Warning
		ov.Retries += row.Retries
		if row.Pending > 0 {
			ov.Dirty++
		}
	}
	ov.Worst = WorstExit(results)
	return ov
}
