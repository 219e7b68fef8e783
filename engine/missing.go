package engine

// This file keeps the run's missing evidence: the steps that failed and
// let the run go on, what the device said, and how to take each by hand.

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// MissingRecord is evidence a run could not take: a step that failed and
// let the run go on (on_error: continue, a command the device refuses over
// the XML API, a failed export). A step with `evidence: false` is never
// one, nor a one_of whose later form the device accepted (the step did not
// fail), nor a skipped step (its when: was false; an export the transport
// cannot do has a note of its own).
type MissingRecord struct {
	// Seq is the command's number in steps/ (0: nothing was sent).
	Seq  int    `json:"seq,omitempty"`
	Step string `json:"step,omitempty"`
	// Name is how the step is described (its name, else its command).
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	Item string `json:"item,omitempty"`
	Run  int    `json:"run,omitempty"`
	// Command is the command as shown (secrets as their references); for
	// an export, what was exported.
	Command string `json:"command,omitempty"`
	// Status is failed, timeout or refused (not taken over the XML API).
	Status string `json:"status"`
	// Error is the device's words (or why it did not run), redacted.
	Error string `json:"error"`
	// ByHand says how to take this evidence by hand.
	ByHand string `json:"by_hand"`
}

// lastSent is the record of the command the current step sent last, and
// how to take it by hand.
type lastSent struct {
	rec    StepRecord
	byHand string
	set    bool
}

// MissingError ends a run whose steps all ran but some of which failed and
// let the run go on (on_error: continue, refused over the XML API): its
// status is StatusIncomplete, exit 1.
type MissingError struct {
	// Missing are the steps whose evidence is missing.
	Missing []MissingRecord
}

func (e *MissingError) Error() string {
	labels := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		labels[i] = missingLabel(m)
	}
	return fmt.Sprintf("%s: evidence missing from %s", StepsFailed(len(e.Missing)), strings.Join(labels, ", "))
}

func missingLabel(m MissingRecord) string {
	l := m.Step
	if l == "" {
		l = fmt.Sprintf("%q", m.Command)
	}
	if m.Item != "" {
		l += " [item " + m.Item + "]"
	}
	return l
}

// StepsFailed is "1 step failed", "2 steps failed".
func StepsFailed(n int) string {
	if n == 1 {
		return "1 step failed"
	}
	return fmt.Sprintf("%d steps failed", n)
}

// missed records that step s failed with err and the run goes on: its
// evidence is missing, unless the step says it takes none.
func (ru *run) missed(s *playbook.Step, err error) {
	if s.NotEvidence {
		return
	}
	m := MissingRecord{Step: s.ID, Kind: string(s.Kind), Status: "failed", Name: s.Name}
	if ru.last.set {
		r := ru.last.rec
		m.Seq, m.Item, m.Run, m.Command, m.Status, m.Error = r.Seq, r.Item, r.Run, r.Command, r.Status, r.Error
		m.ByHand = ru.last.byHand
		if r.Status == "ok" { // the command ran; the step failed after it (until:, a capture)
			m.Status, m.Error = "failed", ""
		}
	}
	if m.Command == "" {
		m.Command = ru.redact(describe(s))
	}
	if m.Error == "" {
		m.Error = ru.redact(err.Error())
	}
	if m.ByHand == "" {
		m.ByHand = byHandNote(m.Command, nil)
	}
	ru.m.Missing = append(ru.m.Missing, m)
}

// byHandNote tells how to run a command by hand on the firewall's CLI:
// shown is the command as shown, undo the commands that set back what it
// turns on.
func byHandNote(shown string, undo []string) string {
	msg := fmt.Sprintf("Run `%s` on the firewall's CLI while the problem happens", shown)
	if len(undo) > 0 {
		msg += ", then `" + strings.Join(undo, "`, `") + "` once the evidence is taken"
	}
	return msg + "; save its output with the run folder."
}

// byHandForms is byHandNote for a step of several forms: the one the
// release takes.
func byHandForms(forms []string, undo []string) string {
	if len(forms) == 1 {
		return byHandNote(forms[0], undo)
	}
	msg := "Run on the firewall's CLI, while the problem happens, the form of this command the release takes: `" + strings.Join(forms, "` or `") + "`"
	if len(undo) > 0 {
		msg += ", then `" + strings.Join(undo, "`, `") + "` once the evidence is taken"
	}
	return msg + "; save its output with the run folder."
}
