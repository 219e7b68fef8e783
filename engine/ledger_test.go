package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestLedgerPending is the spec of the ledger: for each sequence of journal
// events (as the engine writes them, and as `runbook cleanup` reads them
// back), the entries still owed to the device, in the order they run, with
// their label, forms, hold and known refusals.
func TestLedgerPending(t *testing.T) {
	intent := func(seq int, undo ...Forms) JournalEntry {
		return JournalEntry{Event: evUndoIntent, Seq: seq, Command: "step " + string(rune('0'+seq)), Undo: undo}
	}
	plan := func(i int, forms ...string) JournalEntry {
		e := JournalEntry{Event: evCleanupPlan, Key: cleanupKey(i).String(), Command: forms[0]}
		if len(forms) > 1 {
			e.Forms = forms
		}
		return e
	}
	held := func(i int, cmd, hold string) JournalEntry {
		return JournalEntry{Event: evCleanupPlan, Key: cleanupKey(i).String(), Command: cmd, Hold: hold}
	}
	result := func(k Key, status string) JournalEntry {
		return JournalEntry{Event: evCleanupEntry, Key: k.String(), Status: status, Error: map[bool]string{true: "boom"}[status == "failed"]}
	}
	refused := func(cmd, words string) JournalEntry {
		return JournalEntry{Event: evRefused, Command: cmd, Error: words}
	}
	// p is one pending entry as the spec writes it: "label: form | form"
	// with " [hold: ...]", " [refused: form]", " [error: ...]" when set.
	cases := []struct {
		name   string
		events []JournalEntry
		want   []string
	}{
		{"empty journal", nil, nil},
		{"only a run start", []JournalEntry{{Event: evRunStart}}, nil},
		{"an intent counts before the step is known to be sent",
			[]JournalEntry{intent(1, Forms{"debug ike pcap off"})},
			[]string{"undo: debug ike pcap off"}},
		{"undo-armed adds nothing to its intent",
			[]JournalEntry{intent(1, Forms{"a off"}), {Event: evUndoArmed, Seq: 1}},
			[]string{"undo: a off"}},
		{"undo newest step first, a step's own list in the order written",
			[]JournalEntry{intent(1, Forms{"a off"}), intent(3, Forms{"b off"}, Forms{"b reset"}), intent(5, Forms{"c off"})},
			[]string{"undo: c off", "undo: b off", "undo: b reset", "undo: a off"}},
		{"the same intent journaled twice is one entry",
			[]JournalEntry{intent(1, Forms{"a off"}), intent(1, Forms{"a off"})},
			[]string{"undo: a off"}},
		{"undo done takes it out; failed keeps it with its error",
			[]JournalEntry{intent(1, Forms{"a off"}), intent(2, Forms{"b off"}), result(undoKey(2, 0), "ok"), result(undoKey(1, 0), "failed")},
			[]string{"undo: a off [error: boom]"}},
		{"cleanup entries are pending from their plan, after every undo",
			[]JournalEntry{plan(0, "show clock"), intent(1, Forms{"a off"}), plan(1, "clear x")},
			[]string{"undo: a off", "cleanup: show clock", "cleanup: clear x"}},
		{"cleanup entries in the order of the section, even journaled late",
			[]JournalEntry{plan(2, "third"), plan(0, "first"), plan(1, "second")},
			[]string{"cleanup: first", "cleanup: second", "cleanup: third"}},
		{"a cleanup journaled again takes its latest form and hold",
			[]JournalEntry{held(0, "clear ${vars.id}", "needs values"), plan(0, "clear 207")},
			[]string{"cleanup: clear 207"}},
		{"a held cleanup stays pending, held",
			[]JournalEntry{held(0, "show system info", "its when: x was not decided by the run")},
			[]string{"cleanup: show system info [hold: its when: x was not decided by the run]"}},
		{"a when: that failed is a failure: still pending, still held",
			[]JournalEntry{held(0, "show system info", "its when: x was not decided by the run"), result(cleanupKey(0), "failed")},
			[]string{"cleanup: show system info [hold: its when: x was not decided by the run] [error: boom]"}},
		{"a cleanup skipped by its when: is done",
			[]JournalEntry{held(0, "show system info", "undecided"), result(cleanupKey(0), "skipped")},
			nil},
		{"every form of an undo, in order",
			[]JournalEntry{intent(1, Forms{"debug ike global off", "debug ike global on normal"})},
			[]string{"undo: debug ike global off | debug ike global on normal"}},
		{"every form, as the operator reads it, quoted",
			[]JournalEntry{intent(1, Forms{"show session all | match 500", "b"})},
			[]string{"undo: show session all | match 500 | b"}},
		{"every form of a cleanup, in order",
			[]JournalEntry{plan(0, "a", "b")},
			[]string{"cleanup: a | b"}},
		{"a refused form is known to every entry holding it, steps' refusals included",
			[]JournalEntry{refused("debug ike global off", "Invalid syntax."), intent(2, Forms{"debug ike global off", "debug ike global on normal"}), plan(0, "debug ike global off")},
			[]string{"undo: debug ike global off | debug ike global on normal [refused: debug ike global off]", "cleanup: debug ike global off [refused: debug ike global off]"}},
		{"an entry whose every form was refused stays pending",
			[]JournalEntry{intent(1, Forms{"x", "y"}), refused("x", "Invalid syntax."), refused("y", "Unknown command: y"), result(undoKey(1, 0), "failed")},
			[]string{"undo: x | y [refused: x, y] [error: boom]"}},
		{"keys it cannot read are ignored, not guessed",
			[]JournalEntry{intent(1, Forms{"a off"}), {Event: evCleanupEntry, Key: "undo-1", Status: "ok"}, {Event: evCleanupPlan, Key: "undo-1-0", Command: "zz"}},
			[]string{"undo: a off"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, p := range NewLedger(c.events).Pending() {
				s := p.Label() + ": " + strings.Join(p.Forms, " | ")
				if p.Hold != "" {
					s += " [hold: " + p.Hold + "]"
				}
				var ref []string
				for _, f := range p.Forms {
					if _, ok := p.Refused[f]; ok {
						ref = append(ref, f)
					}
				}
				if len(ref) > 0 {
					s += " [refused: " + strings.Join(ref, ", ") + "]"
				}
				if p.Error != "" {
					s += " [error: " + p.Error + "]"
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("pending\n got %q\nwant %q", got, c.want)
			}
			// The journal's encoding round-trips: what runbook cleanup
			// reads is what the engine wrote.
			var back []JournalEntry
			for _, e := range c.events {
				b, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				var r JournalEntry
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				back = append(back, r)
			}
			if a, b := NewLedger(c.events).Shown(), NewLedger(back).Shown(); !reflect.DeepEqual(a, b) {
				t.Errorf("after a journal round trip %q, want %q", b, a)
			}
		})
	}
}

// TestFormsJSON: one form is written as a string (the journal of a run
// without one_of is as before), several as a list; both are read back.
func TestFormsJSON(t *testing.T) {
	b, _ := json.Marshal(JournalEntry{Event: evUndoIntent, Undo: []Forms{{"a"}, {"b", "c"}}})
	if !strings.Contains(string(b), `"undo":["a",["b","c"]]`) {
		t.Errorf("encoded %s", b)
	}
	var e JournalEntry
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.Undo, []Forms{{"a"}, {"b", "c"}}) {
		t.Errorf("decoded %q", e.Undo)
	}
	if err := json.Unmarshal([]byte(`{"undo":[3]}`), &e); err == nil {
		t.Error("a number read as a form")
	}
}

// TestParseKey: the typed key and its journal form agree both ways.
func TestParseKey(t *testing.T) {
	for _, k := range []Key{undoKey(1, 0), undoKey(42, 3), cleanupKey(0), cleanupKey(7)} {
		got, err := ParseKey(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKey(%q) = %+v, %v", k.String(), got, err)
		}
	}
	for _, s := range []string{"", "undo-1", "cleanup-", "cleanup-1x", "undo-1-2-3", "cleanup--1", "redo-1-0"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

// TestLedgerRecordFailureChangesNothing: an entry whose journal append
// fails is not in the ledger (and the caller does not send the command it
// guards: steps.go, cleanup.go).
func TestLedgerRecordFailureChangesNothing(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every write now fails
	l := newLedger()
	err = l.record(&journal{f: f}, JournalEntry{Event: evUndoIntent, Seq: 1, Undo: []Forms{{"debug ike pcap off"}}}, []string{"debug ike pcap off"})
	if err == nil {
		t.Fatal("append to a closed journal succeeded")
	}
	if p := l.Pending(); len(p) != 0 {
		t.Errorf("pending %+v after a failed append, want none", p)
	}
}

// TestRefusedKinds: which errors count as the device refusing a form (the
// next form is tried) and which do not (a lost session, a timeout, a
// failed copy), for every error kind a cassette records, after a
// record-and-replay round trip, so a replay reproduces each refusal.
func TestRefusedKinds(t *testing.T) {
	want := map[replay.ErrorKind]bool{
		replay.KindDevice: true, replay.KindUnknownCommand: true,
		replay.KindTimeout: false, replay.KindClosed: false, replay.KindUnexpectedPrompt: false,
		replay.KindCopyFailed: false, replay.KindHostKeyNotAccepted: false,
	}
	for kind, refused := range want {
		err := (&replay.Error{Kind: kind, Message: "words"}).Err("debug ike global off")
		back := replay.ErrorFrom(err, nil).Err("debug ike global off")
		if Refused(err) != refused || Refused(back) != refused {
			t.Errorf("%s: Refused = %t (after a round trip %t), want %t", kind, Refused(err), Refused(back), refused)
		}
	}
	api := &transports.DeviceError{Command: "debug ike global off", Code: "17", Message: "debug not available to xmlapi client"}
	back := replay.ErrorFrom(api, nil).Err(api.Command)
	if !Refused(back) || refusalWords(back) != "debug not available to xmlapi client (code 17)" {
		t.Errorf("xmlapi refusal after a round trip: refused %t, words %q", Refused(back), refusalWords(back))
	}
}
