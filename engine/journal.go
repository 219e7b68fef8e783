package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
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
	evCleanupEntry = "cleanup-entry" // an undo or cleanup entry was run
	evPrompt       = "prompt"
	evNote         = "note"
	evRunEnd       = "run-end"
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
	// Undo is the undo commands of a step, journaled before it is sent.
	Undo []string `json:"undo,omitempty"`
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
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
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

// durable lists the events fsynced before Append returns: those that record
// a change to the device or its undoing, so even a machine crash right
// after sending a debug command leaves its undo on record.
var durable = map[string]bool{
	evRunStart: true, evUndoIntent: true, evUndoArmed: true,
	evCleanupPlan: true, evCleanupEntry: true, evRunEnd: true,
}

func (j *journal) Close() error { return j.f.Close() }

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

// PendingEntry is an undo or cleanup command not yet done.
type PendingEntry struct {
	Key     string
	Command string
}

// Pending computes, from a journal, the undo entries (newest first) and then
// the cleanup entries that were not run successfully. An undo whose command
// was journaled as about to be sent counts, even if the engine died before
// recording that it was sent: the command may have reached the device.
func Pending(entries []JournalEntry) []PendingEntry {
	done := map[string]bool{}
	for _, e := range entries {
		if e.Event == evCleanupEntry && e.Status == "ok" {
			done[e.Key] = true
		}
	}
	var undo, cleanup []PendingEntry
	seen := map[string]bool{}
	plan := map[string]int{} // key -> index in cleanup
	for _, e := range entries {
		switch e.Event {
		case evUndoIntent:
			// Reversed, like the in-process stack: a step's list runs in
			// the order written.
			for i := len(e.Undo) - 1; i >= 0; i-- {
				k := undoKey(e.Seq, i)
				if !seen[k] {
					seen[k] = true
					undo = append(undo, PendingEntry{Key: k, Command: e.Undo[i]})
				}
			}
		case evCleanupPlan:
			// A cleanup entry rendered again at cleanup time (with values
			// captured since) is journaled again: the latest form wins.
			if i, ok := plan[e.Key]; ok {
				cleanup[i].Command = e.Command
			} else {
				plan[e.Key] = len(cleanup)
				cleanup = append(cleanup, PendingEntry{Key: e.Key, Command: e.Command})
			}
		}
	}
	// In the order of the cleanup: section, also for entries journaled late.
	slices.SortStableFunc(cleanup, func(a, b PendingEntry) int { return cleanupIndex(a.Key) - cleanupIndex(b.Key) })
	var out []PendingEntry
	for i := len(undo) - 1; i >= 0; i-- {
		if !done[undo[i].Key] {
			out = append(out, undo[i])
		}
	}
	for _, c := range cleanup {
		if !done[c.Key] {
			out = append(out, c)
		}
	}
	return out
}

func undoKey(seq, i int) string { return fmt.Sprintf("undo-%d-%d", seq, i) }
func cleanupKey(i int) string   { return fmt.Sprintf("cleanup-%d", i) }

// cleanupIndex is the position in the cleanup: section of a cleanupKey.
func cleanupIndex(key string) int {
	var i int
	fmt.Sscanf(key, "cleanup-%d", &i)
	return i
}
