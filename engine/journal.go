package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/timetext"
)

// JournalFile is the name of the journal in a run folder.
const JournalFile = "journal.jsonl"

// Journal event kinds.
const (
	evRunStart     = "run-start"
	evStepStart    = "step-start"
	evStepEnd      = "step-end"
	evUndoIntent   = "undo-intent"   // before a command with undo is sent
	evUndoArmed    = "undo-armed"    // the command was sent: its undo is on the stack
	evCleanupPlan  = "cleanup-plan"  // a cleanup: entry, rendered at start
	evCleanupEntry = "cleanup-entry" // an undo or cleanup entry was run (or decided: skipped)
	evRefused      = "refused"       // the device refused a form (ledger.go)
	evPrompt       = "prompt"
	evNote         = "note"
	evWaitStart    = "wait-start" // a wait began (a wait: step, a pause between runs or retries)
	evWaitEnd      = "wait-end"   // that wait ended (run to its end, or stopped)
	evRunEnd       = "run-end"
	// evStepFailed: a run step that sent a command failed and the run
	// goes on after it (on_error: continue, refused over the XML API);
	// Seq is its last send's, Error the step's.
	evStepFailed = "step-failed"
)

// JournalEntry is one line of journal.jsonl.
type JournalEntry struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"`
	Step    string    `json:"step,omitempty"`
	Seq     int       `json:"seq,omitempty"`
	Command string    `json:"command,omitempty"`
	// Item is the item of a for_each step (step-start, step-end).
	Item string `json:"item,omitempty"`
	// NotEvidence, on a step-start, says the step takes no evidence
	// (`evidence: false`): a step the journal alone knows of (the one a
	// kill cut short) is then not missing evidence either.
	NotEvidence bool `json:"not_evidence,omitempty"`
	// Run, Try and ItemNo, on the step-start of a step of several sends
	// (a repeat, an until:'s tries, a for_each of several items), say
	// which it is: the run of the repeat (from 1), the try of the until:
	// (from 1; absent without one), the item (from 1; absent without a
	// for_each). A journal from before them has none: a kill there lists
	// only the send in flight.
	Run    int `json:"run,omitempty"`
	Try    int `json:"try,omitempty"`
	ItemNo int `json:"item_no,omitempty"`
	// Stopped, on the step-end of a run step's send, says that the run
	// was stopped (a signal, its --timeout) while the send was in flight:
	// a step sent once is then missing evidence (sendMissing), in the
	// run's record as in the one runbook cleanup rebuilds. A journal from
	// before it has none: such a send is not listed, as before.
	Stopped bool `json:"stopped,omitempty"`
	// Plan, on the first step-start of such a step, is what it sends at
	// each run (its run and try are those of that first send), so that
	// runbook cleanup lists the runs a kill left untaken (sendMissing).
	Plan *Pause `json:"plan,omitempty"`
	// Kind, on a step-start, is "export" for an export step (kindExport);
	// on a wait-start, "wait" for a wait: step (Step is its id);
	// "meet" for a case run's wait to meet the other ends of its case
	// (Step is the step they meet at; Pause, before a run of a repeat,
	// what the pause it opens holds back); empty for a pause between two
	// runs or retries of a step. Message says what the wait is for.
	Kind string `json:"kind,omitempty"`
	// WaitMS, on a wait-start, is how long the wait was to last. A wait
	// the kill cut short (a wait-start with no wait-end) is how `runbook
	// cleanup` tells that the run was stopped while it waited: nothing
	// else of it is on record until it ends.
	WaitMS int64 `json:"wait_ms,omitempty"`
	// Pause, on the wait-start of a pause between two runs or two tries
	// of a run step (Step is its id), is what the pause holds back. A
	// journal from before it has none: such a pause cut short is only
	// noted.
	Pause *Pause `json:"pause,omitempty"`
	// Undo is the undo entries of a step, each with its forms, journaled
	// before the step is sent.
	Undo []Forms `json:"undo,omitempty"`
	// Forms are every form of a cleanup-plan entry when it has several
	// (Command is the first); on the step-start of a run step sent once
	// (no repeat, until: or for_each of several items) with one_of forms,
	// all of them, so that runbook cleanup names those not yet tried of
	// a send the run was stopped in (oneOfLeft). A journal from before it
	// has none there: only the step-start's command is named.
	Forms Forms `json:"forms,omitempty"`
	// Hold, on a cleanup-plan, says why the entry cannot be sent as
	// journaled (its when: is not decided yet, its command needs values
	// captured later): `runbook cleanup` leaves it to the operator.
	Hold string `json:"hold,omitempty"`
	// Key identifies an undo or cleanup entry across runs of `runbook cleanup`.
	Key     string `json:"key,omitempty"`
	Status  string `json:"status,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`

	// run-start only
	Playbook string `json:"playbook,omitempty"`
	Target   string `json:"target,omitempty"`
	// Transport and Cassette say how the target was reached.
	Transport string `json:"transport,omitempty"`
	Cassette  string `json:"cassette,omitempty"`
	// PID is the engine's process id.
	PID     int               `json:"pid,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Version int               `json:"version,omitempty"`
}

// journal appends entries; those about the device's state (undo and
// cleanup) are fsynced before Append returns. It redacts nothing: every
// value of an entry is redacted (or shown, for commands) by the caller
// before it is encoded, so keys and event names are never touched.
type journal struct {
	f *os.File
	// buf and enc encode each entry with no allocation of their own; an
	// entry is still written with one Write as soon as it is appended. mu
	// guards them.
	mu  sync.Mutex
	buf bytes.Buffer
	enc *json.Encoder
	e   JournalEntry // the entry being encoded, so that it is not copied to the heap
	// line is where appendPlain writes a plain entry; any other is
	// encoded into buf.
	line []byte
	// stamp is the time last written, and its text.
	stamp timetext.Last
}

func openJournal(path string) (*journal, error) {
	if err := endTornLine(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &journal{f: f}, nil
}

// endTornLine makes an existing journal end with a newline before anything
// is appended to it, so a new entry never lands on the torn last line of an
// engine killed mid-write (which would lose the entry and leave the torn
// line in the middle). A complete entry missing only its newline is kept;
// a torn one is cut off, as ReadJournal ignores it anyway.
func endTornLine(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	tail := b[bytes.LastIndexByte(b, '\n')+1:]
	if len(tail) == 0 {
		return nil
	}
	if json.Valid(tail) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return os.Truncate(path, int64(len(b)-len(tail)))
}

func (j *journal) Append(e JournalEntry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.enc == nil {
		j.enc = json.NewEncoder(&j.buf)
	}
	var plain bool
	j.line, plain = appendPlain(j.line[:0], &e, &j.stamp)
	line := j.line
	if !plain {
		j.buf.Reset()
		j.e = e
		err := j.enc.Encode(&j.e) // the same bytes as json.Marshal, and a newline
		j.e = JournalEntry{}
		if err != nil {
			return err
		}
		line = j.buf.Bytes()
	}
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if !durable[e.Event] {
		// Written, so it survives the engine being killed; not forced to
		// the disk, which only a machine crash would need.
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// appendPlain writes e as json.Marshal does, and a newline, when e is a
// plain entry (a step's start or end, an undo's intent: no params, pause,
// plan or pid, every string, forms' included, printable ASCII that JSON
// does not escape, a time JSON can hold), and reports whether it did. st,
// if not nil, formats the time (the last one again without formatting).
// TestJournalPlain and FuzzJournalPlain pin that the bytes are
// json.Marshal's.
func appendPlain(dst []byte, e *JournalEntry, st *timetext.Last) ([]byte, bool) {
	if e.Params != nil || e.Pause != nil || e.Plan != nil || e.PID != 0 {
		return dst, false
	}
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	for _, s := range [...]string{e.Event, e.Step, e.Command, e.Item, e.Kind, e.Hold, e.Key, e.Status, e.Error, e.Message, e.Playbook, e.Target, e.Transport, e.Cassette} {
		if !plainString(s) {
			return dst, false
		}
	}
	for _, f := range e.Undo {
		if !plainForms(f) {
			return dst, false
		}
	}
	if !plainForms(e.Forms) {
		return dst, false
	}
	dst = append(dst, `{"time":"`...)
	// RFC3339Nano alone, quotes outside: the layout time formats
	// without parsing it.
	dst = st.Append(dst, e.Time)
	dst = append(dst, `","event":"`...)
	dst = append(dst, e.Event...)
	dst = append(dst, '"')
	// Each key comes with its comma, colon and quote, a constant: nothing
	// is concatenated per entry.
	str := func(key, v string) {
		if v != "" {
			dst = append(dst, key...)
			dst = append(dst, v...)
			dst = append(dst, '"')
		}
	}
	integer := func(key string, v int64) {
		if v != 0 {
			dst = append(dst, key...)
			dst = strconv.AppendInt(dst, v, 10)
		}
	}
	str(`,"step":"`, e.Step)
	integer(`,"seq":`, int64(e.Seq))
	str(`,"command":"`, e.Command)
	str(`,"item":"`, e.Item)
	if e.NotEvidence {
		dst = append(dst, `,"not_evidence":true`...)
	}
	integer(`,"run":`, int64(e.Run))
	integer(`,"try":`, int64(e.Try))
	integer(`,"item_no":`, int64(e.ItemNo))
	if e.Stopped {
		dst = append(dst, `,"stopped":true`...)
	}
	str(`,"kind":"`, e.Kind)
	integer(`,"wait_ms":`, e.WaitMS)
	for i, f := range e.Undo {
		if i == 0 {
			dst = append(dst, `,"undo":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = appendForms(dst, f)
	}
	if len(e.Undo) > 0 {
		dst = append(dst, ']')
	}
	if len(e.Forms) > 0 {
		dst = append(dst, `,"forms":`...)
		dst = appendForms(dst, e.Forms)
	}
	str(`,"hold":"`, e.Hold)
	str(`,"key":"`, e.Key)
	str(`,"status":"`, e.Status)
	str(`,"error":"`, e.Error)
	str(`,"message":"`, e.Message)
	str(`,"playbook":"`, e.Playbook)
	str(`,"target":"`, e.Target)
	str(`,"transport":"`, e.Transport)
	str(`,"cassette":"`, e.Cassette)
	integer(`,"version":`, int64(e.Version))
	return append(dst, "}\n"...), true
}

// plainString reports whether JSON writes s as it is, between quotes:
// printable ASCII with no quote, backslash or HTML character.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainForms reports whether every form of f is a plain string.
func plainForms(f Forms) bool {
	for _, s := range f {
		if !plainString(s) {
			return false
		}
	}
	return true
}

// appendForms appends f, whose forms are plain, as Forms.MarshalJSON
// writes it: one form as a string, several (or none) as a list, nil as
// null.
func appendForms(dst []byte, f Forms) []byte {
	switch {
	case f == nil:
		return append(dst, "null"...)
	case len(f) == 1:
		dst = append(dst, '"')
		dst = append(dst, f[0]...)
		return append(dst, '"')
	}
	dst = append(dst, '[')
	for i, s := range f {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// durable lists the events fsynced before Append returns: those that record
// a change to the device or its undoing, so even a machine crash right
// after sending a debug command leaves its undo on record.
var durable = map[string]bool{
	evRunStart: true, evUndoIntent: true, evUndoArmed: true,
	evCleanupPlan: true, evCleanupEntry: true, evRefused: true, evRunEnd: true,
}

func (j *journal) Close() error { return j.f.Close() }

// Pause is what a pause between two runs of a run step's repeat, or two
// tries of its retry, holds back: the runs (and tries) not taken yet, and
// the commands each sends. It is journaled on the pause's wait-start, so
// a run stopped in it (killed, interrupted, timed out) lists what it did
// not take as missing evidence (pauseMissing) by one rule, in the
// manifest the run writes and in the one runbook cleanup rebuilds.
type Pause struct {
	// Run is the run of the step's repeat the pause comes before (1 for
	// a step without repeat: a retry), of Runs; IntervalMS is the
	// repeat's interval.
	Run        int   `json:"run"`
	Runs       int   `json:"runs"`
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// Try, set for a pause between two tries of an until: (retry), is the
	// try of run Run it comes before, of Tries, RetryMS apart; Until is
	// the condition the tries wait for, as written.
	Try     int    `json:"try,omitempty"`
	Tries   int    `json:"tries,omitempty"`
	RetryMS int64  `json:"retry_ms,omitempty"`
	Until   string `json:"until,omitempty"`
	// Sends are the commands the step sends at each run, as shown: one, or
	// one per item of a for_each.
	Sends []PauseSend `json:"sends"`
	// Undo is each of the step's undo entries, as shown.
	Undo []string `json:"undo,omitempty"`
	// NotEvidence says the step takes no evidence (`evidence: false`):
	// the runs it holds back are not missing evidence either.
	NotEvidence bool `json:"not_evidence,omitempty"`
}

// PauseSend is a command a paused step sends at each run.
type PauseSend struct {
	// Item is the item of a for_each step.
	Item string `json:"item,omitempty"`
	// Forms are the command as shown: its forms, when it has a one_of.
	Forms []string `json:"forms"`
}

// waitStarted journals that a wait of d began at start: rec is the
// record of a wait: step (nil for a pause between two runs or retries),
// why what the wait is for, p what a pause of step holds back (nil when
// the wait holds back no run of a step). Not durable: a wait changes
// nothing on the device; written, it survives a kill, which is what it is
// for.
func (j *journal) waitStarted(start time.Time, d time.Duration, why string, rec *StepRecord, step string, p *Pause) {
	e := JournalEntry{Time: start, Event: evWaitStart, Message: why, WaitMS: d.Milliseconds(), Pause: p}
	if rec != nil {
		e.Kind, e.Step = rec.Kind, rec.ID
	} else if p != nil {
		e.Step = step
	}
	_ = j.Append(e)
}

// meetStarted journals that the run began, at start, to wait for the
// other ends of its case (kind "meet"): why is what for, step the step
// they meet at, p what the pause the meeting opens holds back (nil for
// the meeting before a wait: step). Not durable, as a wait.
func (j *journal) meetStarted(start time.Time, why, step string, p *Pause) {
	_ = j.Append(JournalEntry{Time: start, Event: evWaitStart, Kind: kindMeet, Step: step, Message: why, Pause: p})
}

// kindExport is the kind of the step-start of an export step (its pull,
// or its `scp export`): runbook cleanup lists it, stopped in flight, as
// the run does (exportMissing). A journal from before it has none there.
const kindExport = "export"

// kindMeet is the kind of a wait-start of a case run's wait to meet the
// other ends of its case.
const kindMeet = "meet"

// waitEnded journals that the wait journaled last ended at end, with status.
func (j *journal) waitEnded(end time.Time, status string) {
	_ = j.Append(JournalEntry{Time: end, Event: evWaitEnd, Status: status})
}

// ReadJournal reads every entry of a journal file. A torn last line (the
// engine was killed mid-write) is ignored.
func ReadJournal(path string) ([]JournalEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]JournalEntry, 0, len(lines))
	for i, l := range lines {
		var e JournalEntry
		if err := json.Unmarshal(l, &e); err != nil {
			if i == len(lines)-1 { // torn last line: the engine was killed mid-write
				break
			}
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}
