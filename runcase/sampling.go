package runcase

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runfolder"
)

// Sampling says that the ends sampled together (fleet.Sync): each point
// they met at, when it started, and when each end actually started it.
type Sampling struct {
	// Ends are the targets that met, in order.
	Ends   []string  `json:"ends"`
	Points []Sampled `json:"points"`
}

// Sampled is one meeting point: a run of a repeated step, a wait or a
// prompt.
type Sampled struct {
	// Step is the step's id, else "line N"; "warnings" for the
	// playbook's warnings.
	Step string `json:"step"`
	Line int    `json:"line,omitempty"`
	// Kind is repeat, wait or prompt.
	Kind string `json:"kind"`
	Run  int    `json:"run"`
	Runs int    `json:"runs"`
	// IntervalMS is the repeat's interval.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// At is the shared start, on the engine's clock.
	At time.Time `json:"at"`
	// Starts are when each end started the step's command (a wait: its
	// wait), as its manifest says, on the engine's clock; SpreadMS is the
	// latest minus the earliest, nil with fewer than two.
	Starts   []SampledStart `json:"starts,omitempty"`
	SpreadMS *int64         `json:"spread_ms,omitempty"`
	// Met are the ends that met; Missing those that did not, with why;
	// Late those that came after it started.
	Met     []string             `json:"met"`
	Missing []engine.SyncMissing `json:"missing,omitempty"`
	Late    []string             `json:"late,omitempty"`
}

// SampledStart is when one end started a point.
type SampledStart struct {
	Target string    `json:"target"`
	Start  time.Time `json:"start"`
}

// Sample records in the case how its ends met (fleet.Sync.Meetings), with
// each end's start of each repeated run and wait read from its run folder.
func (c *Case) Sample(dir string, ends []string, meetings []fleet.Meeting) {
	sp := &Sampling{Ends: ends, Points: []Sampled{}}
	var wanted []pointKey
	for _, mt := range meetings {
		if k, ok := keyOf(mt); ok {
			wanted = append(wanted, k)
		}
	}
	starts := map[string]map[pointKey]time.Time{}
	for _, e := range c.Ends {
		if e.Dir == "" {
			continue
		}
		if st, err := readStarts(filepath.Join(dir, e.Dir), wanted); err == nil {
			starts[e.Target] = st
		}
	}
	for _, mt := range meetings {
		p := Sampled{Step: mt.Step, Line: mt.Line, Kind: mt.Kind, Run: mt.Run, Runs: mt.Runs, IntervalMS: mt.Interval.Milliseconds(),
			At: mt.At.UTC(), Met: mt.Met, Missing: mt.Missing, Late: mt.Late}
		if p.Met == nil {
			p.Met = []string{}
		}
		if mt.Kind != "prompt" {
			var first, last time.Time
			for _, name := range ends {
				st, ok := startOf(starts[name], mt)
				if !ok {
					continue
				}
				p.Starts = append(p.Starts, SampledStart{Target: name, Start: st.UTC()})
				if first.IsZero() || st.Before(first) {
					first = st
				}
				if last.IsZero() || st.After(last) {
					last = st
				}
			}
			if len(p.Starts) > 1 {
				ms := last.Sub(first).Milliseconds()
				p.SpreadMS = &ms
			}
		}
		sp.Points = append(sp.Points, p)
	}
	c.Sampling = sp
}

// pointKey names a point of a meeting in a run's steps: a wait (run 0)
// or one run of a repeated step, by the step's line and id.
type pointKey struct {
	line int
	id   string
	wait bool
	run  int
}

// keyOf is the key of meeting mt, false for one no step starts (a prompt).
func keyOf(mt fleet.Meeting) (pointKey, bool) {
	switch mt.Kind {
	case "wait":
		return pointKey{line: mt.Line, id: mt.ID, wait: true}, true
	case "repeat":
		return pointKey{line: mt.Line, id: mt.ID, run: mt.Run}, true
	}
	return pointKey{}, false
}

// readStarts reads the run folder runDir's manifest as a stream
// (runfolder.Scan) and returns when each point of wanted started there:
// the first command of that run (a for_each's first item), or the wait.
// It holds one entry per wanted point, not the steps.
func readStarts(runDir string, wanted []pointKey) (map[pointKey]time.Time, error) {
	want := make(map[pointKey]bool, len(wanted))
	for _, k := range wanted {
		want[k] = true
	}
	out := map[pointKey]time.Time{}
	see := func(k pointKey, t time.Time) {
		if _, seen := out[k]; want[k] && !seen {
			out[k] = t
		}
	}
	_, err := runfolder.Scan(runDir, func(s engine.StepRecord) error {
		if s.Kind == "wait" {
			see(pointKey{line: s.Line, id: s.ID, wait: true}, s.Start)
		}
		if s.Seq > 0 {
			see(pointKey{line: s.Line, id: s.ID, run: s.Run}, s.Start)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// startOf is when the end whose starts are st started the point mt.
func startOf(st map[pointKey]time.Time, mt fleet.Meeting) (time.Time, bool) {
	k, ok := keyOf(mt)
	if !ok || st == nil {
		return time.Time{}, false
	}
	t, ok := st[k]
	return t, ok
}

// samplingSummary is the section of summary.md on the ends sampling
// together; "" when they did not meet.
func (c *Case) samplingSummary() string {
	sp := c.Sampling
	if sp == nil || len(sp.Points) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Sampled together (%s)\n\n", md(strings.Join(sp.Ends, ", ")))
	b.WriteString("Each run of a repeated step started on every end at one shared start (the first run when the last end came, " +
		"each next one an interval after the previous start), each wait started together, and each prompt was asked once for every end. " +
		"Times are the engine's clock; spread is the latest start minus the earliest.\n\n")
	b.WriteString("| step | run | ")
	for _, e := range sp.Ends {
		b.WriteString(md(e) + " | ")
	}
	b.WriteString("spread | note |\n|")
	for range len(sp.Ends) + 4 {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, p := range sp.Points {
		run := ""
		if p.Runs > 1 {
			run = fmt.Sprintf("%d/%d", p.Run, p.Runs)
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | ", md(p.Step), p.Kind, run)
		for _, e := range sp.Ends {
			b.WriteString(p.StartText(e) + " | ")
		}
		spread := ""
		if p.SpreadMS != nil {
			spread = fmt.Sprintf("%d ms", *p.SpreadMS)
		}
		fmt.Fprintf(&b, "%s | %s |\n", spread, md(p.Note()))
	}
	b.WriteString("\n")
	return b.String()
}

// StartText is when end started p, as the summary shows it.
func (p Sampled) StartText(end string) string {
	for _, s := range p.Starts {
		if s.Target == end {
			return s.Start.Format("15:04:05.000")
		}
	}
	if p.Kind == "prompt" {
		for _, m := range p.Met {
			if m == end {
				return "asked"
			}
		}
	}
	return "-"
}

// Note says who did not meet at p, and why.
func (p Sampled) Note() string {
	var parts []string
	for _, m := range p.Missing {
		parts = append(parts, m.Text())
	}
	for _, l := range p.Late {
		parts = append(parts, l+" came after the others started")
	}
	if p.Kind == "prompt" && len(p.Met) > 1 {
		parts = append(parts, "asked once for "+strings.Join(p.Met, ", "))
	}
	return strings.Join(parts, "; ")
}
