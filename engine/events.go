package engine

import (
	"fmt"
	"time"
)

// EventSchema is the version of Event's JSON form (docs/events.md): every
// event carries it as "v". It changes only when a field changes meaning
// or goes away; new event types and new fields keep it.
const EventSchema = 1

// EventType names what happened. The JSON form is the constant's value.
type EventType string

// The event types, in the order a run emits them (docs/events.md).
const (
	// EvRunStarted: the run folder exists and the run is journaled;
	// nothing is sent yet.
	EvRunStarted EventType = "run-started"
	// EvWarning: one of the playbook's warnings, before the operator
	// accepts them.
	EvWarning EventType = "warning"
	// EvConnected: the transport opened; Dir is the run folder kept.
	EvConnected EventType = "connected"
	// EvStepStarted: a command (or an export) is about to be sent.
	EvStepStarted EventType = "step-started"
	// EvStepEnded: the command sent at Seq ended with Status.
	EvStepEnded EventType = "step-ended"
	// EvStepSkipped: a step did not run (its when: was false, a for_each
	// gave no items, an export the transport cannot do).
	EvStepSkipped EventType = "step-skipped"
	// EvStepContinued: a step failed and the run goes on (Reason).
	EvStepContinued EventType = "step-continued"
	// EvForEach: a for_each step runs its command for each of Items.
	EvForEach EventType = "for-each"
	// EvFormTried: a later form of a one_of is sent.
	EvFormTried EventType = "form-tried"
	// EvFormSkipped: a form is not sent: the device refused it earlier in
	// the run.
	EvFormSkipped EventType = "form-skipped"
	// EvFormRefused: the device refused a form in its own words (Error).
	EvFormRefused EventType = "form-refused"
	// EvFormAccepted: the device accepted form Form of a one_of.
	EvFormAccepted EventType = "form-accepted"
	// EvUndoArmed: the undo of the command at Seq is in the ledger
	// (journaled before the command was sent).
	EvUndoArmed EventType = "undo-armed"
	// EvUndoSatisfied: an undo entry needs no sending (Reason).
	EvUndoSatisfied EventType = "undo-satisfied"
	// EvCapture: a capture of a step took a value.
	EvCapture EventType = "capture"
	// EvPrompt: the run asks the operator (Auto: answered by --yes).
	EvPrompt EventType = "prompt"
	// EvPromptAnswered: how the operator (or --yes, or the timeout)
	// answered.
	EvPromptAnswered EventType = "prompt-answered"
	// EvWait: the run waits Duration, until Deadline on the run's clock.
	EvWait EventType = "wait"
	// EvWaitEnded: the wait is over (Status ok, or why it was cut short).
	EvWaitEnded EventType = "wait-ended"
	// EvSynced: in a case (Options.Sync), the ends met before run Run
	// of the repeated step Step, a wait or a prompt: Deadline is when it
	// starts on every end, With the other ends that met there; Status
	// skipped with Reason (and Message) when one did not.
	EvSynced EventType = "synced"
	// EvNote: a note for the operator (also in summary.md).
	EvNote EventType = "note"
	// EvExportProgress: Bytes of Total (0: unknown) of the export at Seq
	// arrived.
	EvExportProgress EventType = "export-progress"
	// EvReconnected: a lost session was re-opened.
	EvReconnected EventType = "reconnected"
	// EvCleanupStarted: the ledger is drained: Undo undo entries, then
	// Cleanup cleanup: entries.
	EvCleanupStarted EventType = "cleanup-started"
	// EvCleanupEntry: a ledger entry (Label undo or cleanup) is sent.
	EvCleanupEntry EventType = "cleanup-entry"
	// EvCleanupEntryEnded: how that entry ended.
	EvCleanupEntryEnded EventType = "cleanup-entry-ended"
	// EvCleanupEnded: every entry was attempted; Pending are those not
	// done.
	EvCleanupEnded EventType = "cleanup-ended"
	// EvFinding: a finding fired.
	EvFinding EventType = "finding"
	// EvProblem: something went wrong that does not end the run by
	// itself (a journal or output file that could not be written).
	EvProblem EventType = "problem"
	// EvRunEnded: the run is over; it is the last event of a run.
	EvRunEnded EventType = "run-ended"
)

// EventStatus is the status an event reports.
type EventStatus string

// The event statuses.
const (
	EvOK          EventStatus = "ok"
	EvFailed      EventStatus = "failed"
	EvTimeout     EventStatus = "timeout"
	EvInterrupted EventStatus = "interrupted"
	EvRefused     EventStatus = "refused"
	EvSkipped     EventStatus = "skipped"
	// Prompt answers.
	EvAutoContinued     EventStatus = "auto-continued"
	EvContinued         EventStatus = "continued"
	EvTimedOutContinued EventStatus = "timed-out-continued"
	EvAborted           EventStatus = "aborted"
)

// The reasons of EvStepContinued and EvUndoSatisfied.
const (
	ReasonOnErrorContinue = "on-error-continue" // the step says on_error: continue
	ReasonNotOverAPI      = "not-over-api"      // the device refuses it over the XML API; a note says how to run it
	ReasonExportFailed    = "export-failed"     // a failed export: the run goes on and ends failed
	ReasonDoneByPlaybook  = "done-by-playbook"  // a later step of the playbook ran the undo itself
	ReasonCommandRefused  = "command-refused"   // the device refused the command it undoes
)

// Event is one thing that happened in a run. Which fields are set depends
// on Type (docs/events.md lists them); every string is already redacted:
// commands are their shown form, device text and errors went through the
// run's redactor, so no observer ever sees a secret.
type Event struct {
	// V is EventSchema.
	V    int       `json:"v"`
	Type EventType `json:"type"`
	// Time is on the run's clock: a replay's is virtual.
	Time time.Time `json:"time"`
	// Target is the target the run is against.
	Target string `json:"target,omitempty"`

	Playbook  string `json:"playbook,omitempty"`
	Source    string `json:"source,omitempty"`
	Transport string `json:"transport,omitempty"`
	// Dir is the run folder (run-started, connected, run-ended; empty in
	// run-ended when none is kept).
	Dir string `json:"dir,omitempty"`

	// Seq numbers the commands sent, as steps/NNN-*.txt does.
	Seq int `json:"seq,omitempty"`
	// Step is the step's id, Kind its kind (run, export, wait, ...), Name
	// how it is described on the terminal.
	Step string `json:"step,omitempty"`
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	// Command is the command as shown (secrets as their references).
	Command string `json:"command,omitempty"`
	// Run is the run of a repeat, of Runs.
	Run  int `json:"run,omitempty"`
	Runs int `json:"runs,omitempty"`
	// Item is the for_each item; Items all of them (for-each).
	Item  string   `json:"item,omitempty"`
	Items []string `json:"items,omitempty"`
	// Form is a one_of form, counted from 1, of Forms.
	Form  int `json:"form,omitempty"`
	Forms int `json:"forms,omitempty"`
	// Undo are the undo commands armed (undo-armed), each entry's forms
	// joined as the ledger shows them.
	Undo []string `json:"undo,omitempty"`
	// Key is the ledger entry's key (undo-3-0, cleanup-1); Label its kind
	// (undo, cleanup).
	Key   string `json:"key,omitempty"`
	Label string `json:"label,omitempty"`

	Status EventStatus `json:"status,omitempty"`
	Error  string      `json:"error,omitempty"`
	Reason string      `json:"reason,omitempty"`
	// NotEvidence says, on step-continued, that the step takes no
	// evidence (evidence: false): its failure is not missing evidence and
	// does not change the outcome.
	NotEvidence bool `json:"not_evidence,omitempty"`
	// Message is the text of a note, prompt, warning, wait or problem.
	Message string `json:"message,omitempty"`
	// Output is the file in the run folder holding the answer.
	Output string `json:"output,omitempty"`
	// DurationMS is how long a step took, or a wait or prompt timeout
	// lasts, in milliseconds.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Deadline is when a wait ends, on the run's clock.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Virtual: the run's clock is a replay's; a wait does not block.
	Virtual bool `json:"virtual,omitempty"`
	// Auto: a prompt answered by --yes.
	Auto bool `json:"auto,omitempty"`
	// With are the other ends of a case that met at a synced point, or
	// that a prompt's answer (Reason case-answer) applies to as well.
	With []string `json:"with,omitempty"`
	// Bytes and Total are an export's progress or size.
	Bytes int64 `json:"bytes,omitempty"`
	Total int64 `json:"total,omitempty"`

	// Capture: Name and Value.
	Value string `json:"value,omitempty"`
	// Finding: ID and Severity, with Message.
	ID       string `json:"id,omitempty"`
	Severity string `json:"severity,omitempty"`

	// UndoCount and CleanupCount are the entries cleanup-started drains.
	UndoCount    int `json:"undo_count,omitempty"`
	CleanupCount int `json:"cleanup_count,omitempty"`
	// Resume: drained by `runbook cleanup`, not by the run.
	Resume bool `json:"resume,omitempty"`
	// Pending are the undo and cleanup commands not done.
	Pending []string `json:"pending,omitempty"`
	// Scope of a problem: "run" (the run folder) or "step" (the command
	// being sent).
	Scope string `json:"scope,omitempty"`

	// ExitCode, Outcome and Summary end a run (run-ended). ExitCode is
	// always present in run-ended (0 included).
	ExitCode *int   `json:"exit_code,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Summary  string `json:"summary,omitempty"`
	// Missing is the run's missing evidence (run-ended; Manifest.Missing):
	// the steps that failed and let the run go on, with the device's words
	// and how to take each by hand.
	Missing []MissingRecord `json:"missing_evidence,omitempty"`

	// Write is what the run folder writes for this event (folder.go):
	// a command's output, a step record, the manifest. It is the
	// folder's alone: never encoded, and nil in every event any other
	// observer gets.
	Write *FolderWrite `json:"-"`
}

// Observer receives a run's events, in order, from the goroutine running
// it. Event must not block for long; it has no error to return: an
// observer that cannot write (a closed terminal, a full disk) keeps that
// to itself, and the run and its cleanup go on.
type Observer interface {
	Event(e Event)
}

// ObserverFunc is a function as an Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }

// Observers fans an event out to several observers, in order.
type Observers []Observer

// Event hands e to each observer in turn. One that panics is skipped for
// that event: an observer never stops the run.
func (os Observers) Event(e Event) {
	for _, o := range os {
		if o != nil {
			deliver(o, e)
		}
	}
}

func deliver(o Observer, e Event) {
	defer func() { _ = recover() }()
	o.Event(e)
}

// emitter stamps and delivers events: to the run folder first, which
// can fail (record), then to the observers (publish).
type emitter struct {
	// folder is the run's folder (nil: none, as for `runbook cleanup`).
	folder Folder
	obs    Observer
	target string
	now    func() time.Time
	// redact, when set, redacts the folder's errors (which may quote a
	// file name) before they are reported.
	redact func(string) string
}

// emit hands e to the folder, then to the observers. It is for the events
// whose folder error the engine has no more to say about than that: one
// is reported as a problem of the run before e is handed on.
func (em *emitter) emit(e Event) {
	if em == nil {
		return
	}
	e, err := em.record(e)
	if err != nil {
		em.folderProblem(err)
	}
	em.publish(e)
}

// record stamps e and hands it to the folder, which has written what e
// carries when it returns (or failed: err). The engine deals with err
// where it knows what failed, then hands e on with publish.
func (em *emitter) record(e Event) (Event, error) {
	if em == nil {
		return e, nil
	}
	e.V = EventSchema
	if e.Time.IsZero() {
		e.Time = em.now().UTC()
	}
	if e.Target == "" {
		e.Target = em.target
	}
	if em.folder == nil {
		return e, nil
	}
	return e, recordIn(em.folder, e)
}

// recordIn hands e to f: a panic in it is an error of the folder, and the
// run and its cleanup go on.
func recordIn(f Folder, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return f.Record(e)
}

// publish hands e, recorded, to the observers, without what only the
// folder gets.
func (em *emitter) publish(e Event) {
	if em == nil || em.obs == nil {
		return
	}
	e.Write = nil
	deliver(em.obs, e)
}

// folderProblem reports a folder error as a problem of the run (the folder
// has no error to say about a problem event itself).
func (em *emitter) folderProblem(err error) {
	msg := "writing the run folder: " + err.Error()
	if em.redact != nil {
		msg = em.redact(msg)
	}
	e, _ := em.record(Event{Type: EvProblem, Scope: "run", Message: msg})
	em.publish(e)
}

func durMS(d time.Duration) int64 { return int64(d.Round(time.Millisecond) / time.Millisecond) }
