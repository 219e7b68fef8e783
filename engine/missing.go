package engine

// This file keeps the run's missing evidence: the steps that failed and
// let the run go on, what the device said, and how to take each by hand.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/words"
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
	// undo is the step's undo, and forms its forms, as shown, once a
	// send failed.
	undo, forms []string
	// after is what missed lists after rec, of a step that failed after
	// rec was taken: the runs (items) after it (sendMissing).
	after []MissingRecord
	// missing, when set, is what missed lists instead of rec: the runs
	// (items) of a step of several sends that its failed send left
	// untaken (sendMissing), that send's among them.
	missing []MissingRecord
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
	return fmt.Sprintf("%s: evidence missing from %s", StepsFailed(MissingSteps(e.Missing)), strings.Join(labels, ", "))
}

// MissingSteps is how many steps the missing evidence missing is of: a
// step of several sends lists one record per command (per item) whose
// runs it did not take, in a row, all with its id. Records of a step
// without id count one each.
func MissingSteps(missing []MissingRecord) int {
	n := 0
	for i, m := range missing {
		if i == 0 || m.Step == "" || m.Step != missing[i-1].Step {
			n++
		}
	}
	return n
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
func StepsFailed(n int) string { return words.Count(n, "step") + " failed" }

// missed records that step s failed with err and the run goes on: its
// evidence is missing, unless the step says it takes none.
func (ru *run) missed(s *playbook.Step, err error) {
	if s.NotEvidence {
		return
	}
	if ru.last.missing != nil {
		ru.m.Missing = append(ru.m.Missing, ru.last.missing...)
		return
	}
	defer func() { ru.m.Missing = append(ru.m.Missing, ru.last.after...) }()
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

// pauseStopper says what stopped a run in a pause, from the status of
// the pause's wait-end: "" (none: the engine died in it), interrupted
// (a signal) or timeout (--timeout).
func pauseStopper(status string) string {
	switch status {
	case "":
		return "the engine was killed"
	case "timeout":
		return "the run's --timeout passed"
	}
	return "the run was interrupted"
}

// pauseMissing is the missing evidence of step, whose pause p the run
// was stopped in (by stopper, pauseStopper's words): one record per
// command the step sends at each run (one per item of a for_each), which
// says how many runs (or tries) of how many were taken and how to take
// the rest by hand. The run lists it when it is stopped in the pause, and
// runbook cleanup when the journal shows the pause cut short, so both
// list the same. None when the pause came before the step's first run:
// nothing of the step was taken, as nothing of a step after it was; none
// for a step that takes no evidence (`evidence: false`), nor for a pause
// whose numbers do not hold together.
func pauseMissing(step string, p *Pause, stopper string) []MissingRecord {
	if p == nil || p.NotEvidence || (p.Try == 0 && p.Run <= 1) {
		return nil
	}
	if p.Run < 1 || p.Run > p.Runs || p.Try < 0 || p.Try > p.Tries {
		return nil // not a pause this engine journals
	}
	what, how := pauseHeldBack(p)
	out := make([]MissingRecord, 0, len(p.Sends))
	for _, c := range p.Sends {
		if len(c.Forms) == 0 {
			continue
		}
		out = append(out, MissingRecord{Step: step, Kind: "run", Item: c.Item, Run: p.Run, Command: c.Forms[0], Status: "interrupted",
			Error: "cut short: " + stopper + " in the pause before " + what, ByHand: byHandAgain(c.Forms, p.Undo, how)})
	}
	return out
}

// pauseHeldBack says what pause p held back: before what it came and
// what of the step was taken ("run 2 of 3: 1 run was taken of its 3,
// runs 2-3 were not"), and how the rest is taken by hand ("2 more times,
// 1m0s apart").
func pauseHeldBack(p *Pause) (what, how string) {
	at, taken, how := heldBack(p)
	return at + ": " + taken, how
}

// heldBack is pauseHeldBack's words in their parts: the run (try) p.Run
// (p.Try) names ("run 2 of 3"), what of the step was taken before it
// ("1 run was taken of its 3, runs 2-3 were not") and how the rest is
// taken by hand.
func heldBack(p *Pause) (at, taken, how string) {
	runs := func(from, to int) string {
		if from == to {
			return fmt.Sprintf("run %d was", from)
		}
		return fmt.Sprintf("runs %d-%d were", from, to)
	}
	of := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one + " was"
		}
		return strconv.Itoa(n) + " " + many + " were"
	}
	times := func(n int) string {
		if n == 1 {
			return "1 more time"
		}
		return strconv.Itoa(n) + " more times"
	}
	apart := func(ms int64) string {
		if ms <= 0 {
			return ""
		}
		return ", " + (time.Duration(ms) * time.Millisecond).String() + " apart"
	}
	if p.Try == 0 {
		at = fmt.Sprintf("run %d of %d", p.Run, p.Runs)
		taken = fmt.Sprintf("%s taken of its %d, %s not", of(p.Run-1, "run", "runs"), p.Runs, runs(p.Run, p.Runs))
		return at, taken, times(p.Runs-p.Run+1) + apart(p.IntervalMS)
	}
	at = fmt.Sprintf("try %d of %d", p.Try, p.Tries)
	if p.Runs > 1 {
		at += fmt.Sprintf(" of run %d of %d", p.Run, p.Runs)
	}
	at += fmt.Sprintf(" (until: `%s` was not yet true)", p.Until)
	taken = fmt.Sprintf("%s taken of its %d", of(p.Try-1, "try", "tries"), p.Tries)
	how = "at most " + times(p.Tries-p.Try+1) + apart(p.RetryMS) + ", until `" + p.Until + "` holds"
	if p.Run < p.Runs {
		taken += ", " + runs(p.Run+1, p.Runs) + " not"
		more := strconv.Itoa(p.Runs-p.Run) + " more runs"
		if p.Runs-p.Run == 1 {
			more = "1 more run"
		}
		how += ", then the same for " + more + apart(p.IntervalMS)
	}
	return at, taken, how
}

// byHandAgain is byHandForms for the runs of a command the run did not
// take: how says how many and how far apart ("2 more times, 1m0s apart").
func byHandAgain(forms []string, undo []string, how string) string {
	var msg string
	if len(forms) == 1 {
		msg = fmt.Sprintf("Run `%s` on the firewall's CLI %s, while the problem happens", forms[0], how)
	} else {
		msg = "Run on the firewall's CLI " + how + ", while the problem happens, the form of this command the release takes: `" + strings.Join(forms, "` or `") + "`"
	}
	if len(undo) > 0 {
		msg += ", then `" + strings.Join(undo, "`, `") + "` once the evidence is taken"
	}
	return msg + "; save each output with the run folder."
}

// sendAt is where a step of several sends (a repeat, an until:'s tries,
// a for_each's items) is: the run of its repeat, the try of its until: (0
// without one) and the item (0-based; 0 without a for_each) it sends. It
// is journaled on each step-start (run, try, item_no), and the step's
// plan (what it sends at each run: a Pause) on its first, before the
// first send, so that runbook cleanup knows what a kill cut short.
type sendAt struct {
	plan           *Pause
	run, try, item int
	first          bool
}

// sendStopper says what stopped the step at the send journaled with
// status (that of its step-end; "" when the engine died first) and err
// (its error, redacted), the send being what (sendWhat's words).
func sendStopper(status, err, what string) string {
	switch status {
	case "":
		return "the engine was killed while it sent " + what
	case "ok":
		return "the run was stopped after " + what + " was taken"
	case "interrupted":
		return "the run was interrupted while it sent " + what
	case failedAfter:
		if err != "" {
			return what + " was taken, then the step failed (" + err + ")"
		}
		return what + " was taken, then the step failed"
	}
	verb := "failed"
	if status == "refused" {
		verb = "was refused"
	}
	if status == "timeout" {
		verb = "timed out"
	}
	if err != "" {
		return what + " " + verb + " (" + err + ")"
	}
	return what + " " + verb
}

// sendWhat names the send at of plan p: "run 2 of 3", "try 2 of 4 of run
// 1 of 2", "item `207` of run 1 of 2", "item `207`", and for a step sent
// once "its command".
func sendWhat(p *Pause, at sendAt) string {
	var parts []string
	if at.try > 0 {
		parts = append(parts, fmt.Sprintf("try %d of %d", at.try, p.Tries))
	}
	if len(p.Sends) > 1 && at.item >= 0 && at.item < len(p.Sends) {
		parts = append(parts, "item `"+p.Sends[at.item].Item+"`")
	}
	if p.Runs > 1 {
		parts = append(parts, fmt.Sprintf("run %d of %d", at.run, p.Runs))
	}
	if len(parts) == 0 {
		return "its command" // a step sent once
	}
	return strings.Join(parts, " of ")
}

// sendMissing is the missing evidence of a step of several sends (plan
// p) that was stopped at send at: killed or stopped (a signal, --timeout)
// while it was sent, or failed there and stopped the run; status and err
// are the send's (its step-end's: "" when the engine died first, "ok"
// when it was taken and the run was stopped after it, between two items).
// One record per command the step sends at each run (one per item of a
// for_each) that has runs not taken: from the one in flight (unless it
// was taken) to the last, with how many were taken and how to take the
// rest by hand. The run lists it when it is stopped there, and runbook
// cleanup from the journal's step-starts (their plan, run, try and
// item_no), so both list the same. None for a step that takes no evidence
// (`evidence: false`), nor for numbers that do not hold together. seq is
// the send's number, given to the record of the command in flight.
func sendMissing(step string, p *Pause, at sendAt, seq int, status, err string) []MissingRecord {
	if p == nil || p.NotEvidence || len(p.Sends) == 0 {
		return nil
	}
	if at.run < 1 || at.run > p.Runs || at.item < 0 || at.item >= len(p.Sends) || at.try < 0 || (at.try > 0 && (p.Until == "" || at.try > p.Tries)) {
		return nil // not a send this engine journals
	}
	taken := status == "ok" || status == failedAfter
	rs := "interrupted"
	switch status {
	case "timeout", "failed", "refused":
		rs = status
	case failedAfter:
		rs = "failed"
	}
	stopper := sendStopper(status, err, sendWhat(p, at))
	var out []MissingRecord
	for j, c := range p.Sends {
		if len(c.Forms) == 0 {
			continue
		}
		// The first run (and try) of this command not taken.
		run, try := at.run, 0
		switch {
		case j < at.item:
			run++
		case j == at.item && taken:
			// Taken: its until: held, as far as the journal tells (a
			// try that did not is followed by the pause before the next).
			run++
		case j == at.item:
			try = at.try
		}
		if run > p.Runs {
			continue
		}
		if p.Until != "" && try == 0 {
			try = 1
		}
		q := *p
		q.Run, q.Try = run, try
		var held, byHand string
		if p.Runs == 1 && try == 0 {
			held, byHand = "it was not taken", byHandForms(c.Forms, p.Undo)
		} else {
			_, taken, how := heldBack(&q)
			held, byHand = taken, byHandAgain(c.Forms, p.Undo, how)
		}
		m := MissingRecord{Step: step, Kind: "run", Item: c.Item, Run: run, Command: c.Forms[0], Status: rs,
			Error: "cut short: " + stopper + ": " + held, ByHand: byHand}
		if p.Runs == 1 {
			m.Run = 0
		}
		if j == at.item && !taken {
			m.Seq = seq
		}
		out = append(out, m)
	}
	return out
}

// failedMissing is sendMissing for a send that failed and let the run
// go on (on_error: continue, a command refused over the XML API): the
// step sends nothing after it, so its runs and items after it are
// missing too. None when the failed send is all that is missing (the
// last item of the last run, no until: tries left): that send is then
// listed as any failed step is (missed), with the device's words.
func failedMissing(step string, p *Pause, at sendAt, seq int, status, err string) []MissingRecord {
	out := sendMissing(step, p, at, seq, status, err)
	if len(out) == 1 && out[0].Seq == seq && at.run == p.Runs && at.try == 0 {
		return nil
	}
	return out
}

// failedAfter is sendMissing's status of a send that was taken, after
// which its step failed (its until: never held, a capture failed) and
// the run went on: the runs and items after it were not taken.
const failedAfter = "failed after"

// oneSend is the plan of a step sent once whose command is in flight (of
// item, for a for_each of one item): its forms (as shown) the device may
// still take (oneOfLeft: the one in flight first, then the one_of's forms
// not yet tried), sent once, its undo (as shown) after it. The run and
// runbook cleanup give sendMissing the same for such a step stopped
// while it sends.
func oneSend(forms []string, item string, undo []string, notEvidence bool) *Pause {
	return &Pause{Run: 1, Runs: 1, Sends: []PauseSend{{Item: item, Forms: forms}}, Undo: undo, NotEvidence: notEvidence}
}

// dropForms takes out of p the forms of a one_of that refused says the
// device refused: the runs not taken would not send them, nor should
// the operator. A command whose every form was refused keeps them all.
func dropForms(p *Pause, refused func(string) bool) {
	if p == nil {
		return
	}
	for k, c := range p.Sends {
		if len(c.Forms) < 2 {
			continue
		}
		var left []string
		for _, f := range c.Forms {
			if !refused(f) {
				left = append(left, f)
			}
		}
		if len(left) > 0 {
			p.Sends[k].Forms = left
		}
	}
}

// exportMissing is the missing evidence of an export step that the run
// was stopped in while it exported (pulled the file, or ran `scp export`):
// seq and command (what was exported, as shown) are its send's, status
// its step-end's (interrupted, or timeout for the run's --timeout),
// byHand how to export it by hand (exportByHandOf's words). The run lists
// it when it is stopped there, and runbook cleanup from the journal's
// step-end (stopped) of a step-start of kind export, so both list the
// same. None for a step that takes no evidence (`evidence: false`).
func exportMissing(step string, seq int, command, status, byHand string, notEvidence bool) []MissingRecord {
	if notEvidence {
		return nil
	}
	stopper := "the run was interrupted"
	if status == "timeout" {
		stopper = "the run's --timeout passed"
	}
	return []MissingRecord{{Seq: seq, Step: step, Kind: "export", Command: command, Status: status,
		Error: "cut short: " + stopper + " while it exported the file: it was not taken", ByHand: byHand}}
}

// exportByHandOf is exportByHand for the export whose command is as
// shown: `scp export ... to DEST`, or `export CATEGORY [FILE]` for a file
// the transport pulls (export.go), which is then sent to USER@HOST:PATH.
func exportByHandOf(command string) string {
	if scp, to, ok := strings.Cut(command, " to "); ok && strings.HasPrefix(command, "scp export ") {
		return exportByHand(scp, to)
	}
	f := strings.Fields(command) // export <category> [<file>]
	scp := "scp export"
	if len(f) > 1 {
		scp += " " + f[1]
	}
	if len(f) > 2 {
		scp += " from " + strings.Join(f[2:], " ")
	}
	return exportByHand(scp, "USER@HOST:PATH")
}

// oneOfLeft is what a step sent once sends, of its forms (as shown):
// those the device did not refuse in the run (refused), the one in
// flight first (the forms before it were refused: the step tries the
// next only then), so that the operator is told each form the release
// may take. A command whose every form was refused keeps them all.
func oneOfLeft(forms []string, refused func(string) bool) []string {
	p := &Pause{Sends: []PauseSend{{Forms: slices.Clone(forms)}}}
	dropForms(p, refused)
	return p.Sends[0].Forms
}
