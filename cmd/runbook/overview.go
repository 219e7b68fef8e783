package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runcase"
)

// The values of run --output.
const (
	outputInterleaved = "interleaved"
	outputGrouped     = "grouped"
)

// writeOverview prints the table a multi-target run ends with: a line per
// target, then the totals.
func writeOverview(w io.Writer, ov fleet.Overview) {
	fmt.Fprintln(w, "runbook: overview")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TARGET\tSTATUS\tEXIT\tCRITICAL\tWARNING\tCLEANUP\tRETRIES\tRUN FOLDER")
	for _, r := range ov.Rows {
		cleanup := r.Cleanup
		if r.Pending > 0 {
			cleanup = fmt.Sprintf("pending %d", r.Pending)
		}
		dir := r.Dir
		if dir == "" {
			dir = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", r.Target, r.Status, r.ExitCode, r.Critical, r.Warning, cleanup, r.Retries, dir)
	}
	tw.Flush()
	for _, r := range ov.Rows {
		for _, m := range r.Missing {
			what := m.Step
			if what == "" {
				what = fmt.Sprintf("step %d", m.Seq)
			}
			fmt.Fprintf(w, "  %s: missing evidence: %s: %s (%s: %s)\n", r.Target, what, m.Command, m.Status, m.Error)
		}
	}
	statuses := make([]string, 0, len(ov.ByStatus))
	for s := range ov.ByStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	parts := make([]string, len(statuses))
	for i, s := range statuses {
		parts[i] = fmt.Sprintf("%d %s", ov.ByStatus[s], s)
	}
	fmt.Fprintf(w, "runbook: %d targets: %s; %d critical, %d warning findings; cleanup pending on %d; %d connection retries; exit %d\n",
		len(ov.Rows), strings.Join(parts, ", "), ov.Critical, ov.Warning, ov.Dirty, ov.Retries, ov.Worst)
}

// writeCaseFindings prints the findings across the ends of a case whose
// playbook has a case: section, before the overview: the diagnosis that
// needs both ends comes first.
func writeCaseFindings(w io.Writer, c *runcase.Case) {
	if !c.HasEnds() {
		return
	}
	fmt.Fprintf(w, "runbook: across the ends (%s):\n", c.EndsText())
	if len(c.Findings) == 0 && len(c.Unevaluated) == 0 {
		fmt.Fprintln(w, "  no finding across the ends fired")
	}
	for _, f := range c.Findings {
		fmt.Fprintf(w, "  [%s] %s: %s\n", f.Severity, f.ID, f.Message)
	}
	for _, u := range c.Unevaluated {
		fmt.Fprintf(w, "  not evaluated: %s\n", u)
	}
}

// groupedOutput is the human output of one target under --output grouped:
// held until the target's run ends, then written as one block.
type groupedOutput struct {
	mu  *sync.Mutex // shared by every target: one block at a time
	w   io.Writer
	buf bytes.Buffer
	own sync.Mutex
}

func (g *groupedOutput) Write(b []byte) (int, error) {
	g.own.Lock()
	defer g.own.Unlock()
	return g.buf.Write(b)
}

// flush writes what is held, as one block.
func (g *groupedOutput) flush() {
	g.own.Lock()
	defer g.own.Unlock()
	if g.buf.Len() == 0 {
		return
	}
	g.mu.Lock()
	_, _ = g.w.Write(g.buf.Bytes())
	g.mu.Unlock()
	g.buf.Reset()
}

// Event implements engine.Observer: the end of the run flushes the block.
// It comes after the terminal printer in the chain, so the block holds
// the run's last line.
func (g *groupedOutput) Event(e engine.Event) {
	if e.Type == engine.EvRunEnded {
		g.flush()
	}
}
