package runcase

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/runfolder"
)

// Version is the version of case.json.
const Version = 1

// File is the name of the case's record in its folder.
const File = "case.json"

// Case is case.json.
type Case struct {
	Version  int    `json:"version"`
	Playbook string `json:"playbook"`
	// Started is when the case folder was made, on the engine's clock.
	Started time.Time `json:"started"`
	// ExitCode is the worst of the ends' (engine.WorseExit), and
	// engine.ExitFinding when that is 0 and a case finding at FailOn or
	// worse fired.
	ExitCode int `json:"exit_code"`
	// FailOn is the run's --fail-on ("" never fails on a finding).
	FailOn string `json:"fail_on,omitempty"`
	// Findings are those of the playbook's case: section, which read
	// several ends at once (Judge); most severe first. Each evidence
	// record names its end and target.
	Findings []engine.FindingRecord `json:"findings"`
	// Unevaluated says why case findings were not evaluated.
	Unevaluated []string `json:"unevaluated,omitempty"`
	Ends        []End    `json:"ends"`
	// Timeline is every step of every end, ordered by each device's
	// clock where it was measured, else by the engine's.
	Timeline []Entry `json:"timeline"`
	// Sampling says how the ends sampled together (Sample): absent when
	// they did not meet (no case: section, a single end).
	Sampling *Sampling `json:"sampling,omitempty"`
}

// End is one target of the case.
type End struct {
	Target string `json:"target"`
	// Name is the target's name in the playbook's case: section (ends:
	// [a, b]), empty for a target that is not one of its ends.
	Name string `json:"end,omitempty"`
	// Dir is its run folder, relative to the case folder; empty when
	// nothing was sent (no folder is kept).
	Dir      string `json:"dir,omitempty"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// DeviceClock is the device's `show clock` line, as printed.
	DeviceClock string `json:"device_clock,omitempty"`
	// ClockOffsetMS is the device's clock minus the engine's at that
	// step (the middle of the command), in milliseconds; nil when the
	// device's clock was not read. The device prints whole seconds:
	// the offset is good to a second.
	ClockOffsetMS *int64 `json:"clock_offset_ms,omitempty"`
	// ClockZone is the zone the device printed; when it is not UTC the
	// offset includes the zone's own (an abbreviation alone does not
	// give it).
	ClockZone string                 `json:"clock_zone,omitempty"`
	Findings  []engine.FindingRecord `json:"findings"`
	Undo      []engine.CleanupRecord `json:"undo"`
	Cleanup   []engine.CleanupRecord `json:"cleanup"`
	// Pending are the undo and cleanup commands not done.
	Pending []string `json:"cleanup_pending,omitempty"`
	// Missing is the end's missing evidence (its manifest's).
	Missing []engine.MissingRecord `json:"missing_evidence,omitempty"`
}

// Entry is one step of one end on the case's timeline.
type Entry struct {
	// DeviceTime is when the step started on the device's clock (the
	// engine's time plus the end's offset); Time on the engine's.
	DeviceTime time.Time `json:"device_time"`
	Time       time.Time `json:"time"`
	Target     string    `json:"target"`
	Seq        int       `json:"seq"`
	Step       string    `json:"step,omitempty"`
	// Run is the run of a repeated step (0: not repeated).
	Run     int    `json:"run,omitempty"`
	Command string `json:"command,omitempty"`
	Status  string `json:"status"`
	// Output is the step's output, relative to the case folder.
	Output string `json:"output,omitempty"`
}

// Target is how one target of the run ended, as the caller knows it.
type Target struct {
	Name string
	// Dir is its run folder (empty: none kept).
	Dir      string
	Status   string
	ExitCode int
	Error    string
}

// NewDir makes the case folder of playbook under out: <out>/<time>-<playbook>-case,
// or -2, -3, ... when one of that second exists.
func NewDir(out, playbook string, now time.Time) (string, error) {
	return runfolder.NewDir(filepath.Join(out, fmt.Sprintf("%s-%s-case", now.UTC().Format("20060102T150405Z"), playbook)))
}

// Build reads the run folders of targets and makes the case of dir.
func Build(dir, playbook string, started time.Time, targets []Target) (*Case, error) {
	c := &Case{Version: Version, Playbook: playbook, Started: started.UTC(), Findings: []engine.FindingRecord{}}
	var errs []error
	for _, t := range targets {
		e := End{Target: t.Name, Status: t.Status, ExitCode: t.ExitCode, Error: t.Error}
		if t.Dir != "" {
			rel, err := filepath.Rel(dir, t.Dir)
			if err != nil {
				rel = t.Dir
			}
			e.Dir = rel
			tl, err := e.read(t.Dir)
			if err != nil {
				errs = append(errs, fmt.Errorf("case: %s: %w", t.Name, err))
			} else {
				c.Timeline = append(c.Timeline, tl...)
			}
		}
		c.ExitCode = engine.WorseExit(c.ExitCode, e.ExitCode)
		c.Ends = append(c.Ends, e)
	}
	sort.SliceStable(c.Timeline, func(i, j int) bool {
		a, b := c.Timeline[i], c.Timeline[j]
		if !a.DeviceTime.Equal(b.DeviceTime) {
			return a.DeviceTime.Before(b.DeviceTime)
		}
		return a.Target < b.Target
	})
	return c, errors.Join(errs...)
}

// Judge evaluates the findings of the playbook's case: section pc
// (nil: none) on the ends' states once every end ran (engine.Result.End,
// in the order of the targets), names the ends, and makes the case's exit
// code fail on them as --fail-on failOn says. A case of fewer targets
// than pc names ends records why nothing was evaluated.
func (c *Case) Judge(pc *playbook.Case, ends []*engine.EndState, failOn playbook.Severity) {
	c.FailOn = string(failOn)
	if pc == nil {
		return
	}
	for i, name := range pc.Ends {
		if i < len(c.Ends) {
			c.Ends[i].Name = name
		}
	}
	c.Findings, c.Unevaluated = engine.EvalCase(pc, ends)
	c.exit()
}

// exit makes ExitCode that of the ends and the case's findings.
func (c *Case) exit() {
	c.ExitCode = engine.ExitOK
	for _, e := range c.Ends {
		c.ExitCode = engine.WorseExit(c.ExitCode, e.ExitCode)
	}
	if c.ExitCode == engine.ExitOK && engine.FailsOn(c.Findings, playbook.Severity(c.FailOn)) {
		c.ExitCode = engine.ExitFinding
	}
}

// read takes the end's findings, cleanup and clock from its run folder
// runDir and returns its steps for the timeline. The manifest is read as
// a stream (runfolder.Scan): one step is held at a time, beside the
// entries. On an error e is left as it was.
func (e *End) read(runDir string) ([]Entry, error) {
	var out []Entry
	var clock *deviceClock
	m, err := runfolder.Scan(runDir, func(s engine.StepRecord) error {
		if clock == nil {
			clock = readClock(runDir, s)
		}
		en := Entry{Time: s.Start.UTC(), Target: e.Target, Seq: s.Seq, Step: s.ID, Run: s.Run, Command: s.Command, Status: s.Status}
		if s.Output != "" {
			en.Output = filepath.ToSlash(filepath.Join(e.Dir, s.Output))
		}
		out = append(out, en)
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.Status, e.ExitCode, e.Error = m.Status, m.ExitCode, m.Error
	e.Findings, e.Undo, e.Cleanup, e.Pending = m.Findings, m.Undo, m.Cleanup, m.CleanupPending
	e.Missing = m.Missing
	if e.Findings == nil {
		e.Findings = []engine.FindingRecord{}
	}
	var offset time.Duration
	if clock != nil {
		offset = clock.offset
		ms := offset.Milliseconds()
		e.ClockOffsetMS = &ms
		e.DeviceClock, e.ClockZone = clock.raw, clock.zone
	}
	for i := range out {
		out[i].DeviceTime = out[i].Time.Add(offset).UTC()
	}
	return out, nil
}

// deviceClock is what an end's first good show clock said.
type deviceClock struct {
	offset    time.Duration
	raw, zone string
}

// readClock reads the device's clock from step s of the run folder
// runDir: nil unless s is a show clock that went well and whose output
// parses. The offset is the device's time minus the engine's at the
// middle of the step.
func readClock(runDir string, s engine.StepRecord) *deviceClock {
	if s.Command != "show clock" || s.Status != "ok" || s.Output == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(runDir, s.Output))
	if err != nil {
		return nil
	}
	f, err := parse.Parse("clock", string(b), nil)
	local, _ := f["local"].(string)
	if err != nil || local == "" {
		return nil
	}
	dev, err := time.Parse("2006-01-02T15:04:05", local)
	if err != nil {
		return nil
	}
	mid := s.Start.Add(s.End.Sub(s.Start) / 2)
	c := &deviceClock{offset: dev.Sub(mid.UTC()).Round(time.Millisecond)}
	c.raw, _ = f["raw"].(string)
	c.zone, _ = f["zone"].(string)
	return c
}

// Write writes case.json, summary.md and report.html into dir.
func (c *Case) Write(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return errors.Join(
		engine.WriteFileAtomic(filepath.Join(dir, File), append(b, '\n')),
		engine.WriteFileAtomic(filepath.Join(dir, "summary.md"), []byte(c.Summary())),
		writeHTML(c, filepath.Join(dir, "report.html")),
	)
}

// Read reads the case.json of dir.
func Read(dir string) (*Case, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, err
	}
	var c Case
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, File), err)
	}
	return &c, nil
}

// IsCase reports whether dir is a case folder.
func IsCase(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, File))
	return err == nil
}

// Dirs are the run folders of the case, as paths.
func (c *Case) Dirs(dir string) []string {
	var out []string
	for _, e := range c.Ends {
		if e.Dir != "" {
			out = append(out, filepath.Join(dir, e.Dir))
		}
	}
	return out
}

// Rebuild reads the run folders of the case in dir again (after `runbook
// cleanup` finished some) and rewrites it.
func Rebuild(dir string) (*Case, error) {
	old, err := Read(dir)
	if err != nil {
		return nil, err
	}
	ts := make([]Target, len(old.Ends))
	for i, e := range old.Ends {
		ts[i] = Target{Name: e.Target, Status: e.Status, ExitCode: e.ExitCode, Error: e.Error}
		if e.Dir != "" {
			ts[i].Dir = filepath.Join(dir, e.Dir)
		}
	}
	c, err := Build(dir, old.Playbook, old.Started, ts)
	// The case's findings were evaluated on the ends' states at the end
	// of the run, which the run folders do not hold: they are kept.
	c.FailOn, c.Findings, c.Unevaluated = old.FailOn, old.Findings, old.Unevaluated
	c.Sampling = old.Sampling
	for i := range c.Ends {
		c.Ends[i].Name = old.Ends[i].Name
	}
	c.exit()
	if werr := c.Write(dir); werr != nil {
		err = errors.Join(err, werr)
	}
	return c, err
}

// offsetText is an end's clock offset as the summary shows it.
func (e End) offsetText() string {
	if e.ClockOffsetMS == nil {
		return "not measured"
	}
	d := time.Duration(*e.ClockOffsetMS) * time.Millisecond
	s := fmt.Sprintf("%+.1fs", d.Seconds())
	if z := strings.ToUpper(e.ClockZone); z != "" && z != "UTC" && z != "GMT" {
		s += " (device zone " + e.ClockZone + ", included)"
	}
	return s
}
