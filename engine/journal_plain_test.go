package engine

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/timetext"
)

// TestJournalPlain pins that appendPlain writes exactly what json.Marshal
// writes, and that it takes the entries a step journals.
func TestJournalPlain(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	times := []time.Time{{}, time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC), time.Date(2026, 11, 27, 10, 2, 33, 123456789, berlin), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC)}
	strs := []string{"", "show clock", "s1", "ok", "a b/c-d_e.f:g", `with "quote"`, "a<b>&c", "tab\t", "«redacted»", "new\nline", `back\slash`}
	plain := 0
	var st timetext.Last
	for i, tm := range times {
		for k, s := range strs {
			o := strs[(k+i+1)%len(strs)]
			for _, e := range []JournalEntry{
				{Time: tm, Event: evStepStart, Seq: k, Step: s, Command: o, Item: s, NotEvidence: k%2 == 0},
				{Time: tm, Event: evStepStart, Seq: k, Step: s, Command: o, Item: s, Run: k + 1, Try: k % 3, ItemNo: k % 2},
				{Time: tm, Event: evStepStart, Seq: k, Step: s, Command: o, Run: 1, Plan: &Pause{Run: 1, Runs: 2, Sends: []PauseSend{{Forms: []string{s, o}}}}},
				{Time: tm, Event: evStepEnd, Seq: -k, Step: o, Status: s, Error: o},
				{Time: tm, Event: evStepEnd, Seq: k, Step: o, Status: s, Item: o, Stopped: k%2 == 1},
				{Time: tm, Event: evWaitStart, Kind: s, Step: o, Message: s, WaitMS: int64(k) * 1500},
				{Time: tm, Event: evWaitEnd, Status: s},
				{Time: tm, Event: evWaitStart, Step: o, Message: s, WaitMS: 1000, Pause: &Pause{Run: k + 1, Runs: 3, Sends: []PauseSend{{Item: o, Forms: []string{s}}}}},
				{Time: tm, Event: evCleanupEntry, Key: s, Command: o, Status: "ok", Message: s, Hold: o},
				{Time: tm, Event: evRunStart, Playbook: s, Target: o, Transport: s, Cassette: o, Version: 2, PID: k},
				{Time: tm, Event: evUndoIntent, Seq: 3, Undo: []Forms{{s}, {s, o}}},
				{Time: tm, Event: evUndoIntent, Step: s, Seq: 4, Command: o, Undo: []Forms{{o}}},
				{Time: tm, Event: evUndoIntent, Seq: 5, Undo: []Forms{nil, {}, {s, o, s}}},
				{Time: tm, Event: evUndoIntent, Seq: 6, Undo: []Forms{}},
				{Time: tm, Event: evStepStart, Seq: 7, Step: o, Command: s, Forms: Forms{s, o}},
				{Time: tm, Event: evStepStart, Seq: 8, Step: o, Command: s, Forms: Forms{o}},
				{Time: tm, Event: evCleanupPlan, Key: s, Command: o, Forms: Forms{}, Hold: s},
				{Time: tm, Event: evCleanupPlan, Forms: Forms{s, o}, Params: map[string]string{"a": s}},
			} {
				want, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := appendPlain(nil, &e, nil)
				if !ok {
					continue
				}
				plain++
				if got := string(got); got != string(want)+"\n" {
					t.Errorf("appendPlain(%+v)\n got %s\nwant %s", e, got, want)
				}
				// Again through a stamp: formatted, then the same time
				// again, then another.
				for range 2 {
					got, _ := appendPlain([]byte("x")[:0], &e, &st)
					if got := string(got); got != string(want)+"\n" {
						t.Errorf("appendPlain(%+v) with a stamp\n got %s\nwant %s", e, got, want)
					}
				}
			}
		}
	}
	for _, e := range []JournalEntry{
		{Time: times[1], Event: evStepEnd, Seq: 7, Step: "s7", Status: "ok"},
		{Time: times[1], Event: evUndoIntent, Seq: 7, Step: "s7", Command: "debug on", Undo: []Forms{{"debug off"}}},
	} {
		if _, ok := appendPlain(nil, &e, nil); !ok {
			t.Errorf("a plain %s was not written plainly", e.Event)
		}
	}
	if plain < 30 {
		t.Errorf("only %d entries written plainly", plain)
	}
}

// FuzzJournalPlain pins that appendPlain, with a stamp or without, writes
// what json.Marshal writes, for any strings, numbers and time, and what
// the old appendPlain wrote for each entry that one took.
func FuzzJournalPlain(f *testing.F) {
	f.Add(int64(1796195019), int64(568889379), 0, "s1", "show clock", "ok", "debug off", 3, int64(1500))
	f.Add(int64(0), int64(0), 3600, "", "a<b", "«x»", "", -1, int64(0))
	f.Add(int64(253402300799), int64(999999999), -37, "a b", `q"`, "\t", "x\\y", 0, int64(-5))
	var st timetext.Last
	var b []byte
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int, step, cmd, status, undo string, seq int, ms int64) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", off%(24*3600)))
		for _, e := range []JournalEntry{
			{Time: tm, Event: evStepStart, Step: step, Seq: seq, Command: cmd, Item: undo, Run: seq, Try: -seq, ItemNo: seq / 2, NotEvidence: seq%2 == 0},
			{Time: tm, Event: evStepEnd, Step: step, Seq: seq, Status: status, Error: cmd, Stopped: seq%3 == 0},
			{Time: tm, Event: evUndoIntent, Step: step, Seq: seq, Command: cmd, Undo: []Forms{{undo}, {undo, status}, nil, {}}},
			{Time: tm, Event: evCleanupPlan, Key: step, Command: cmd, Forms: Forms{cmd, undo}, Hold: status},
			{Time: tm, Event: evWaitStart, Kind: status, Step: step, Message: cmd, WaitMS: ms},
		} {
			want, err := json.Marshal(e)
			for _, s := range []*timetext.Last{nil, &st, &st} {
				got, ok := appendPlain(b[:0], &e, s)
				b = got
				if !ok {
					break
				}
				if err != nil {
					t.Fatalf("appendPlain wrote %s where json.Marshal fails: %v", got, err)
				}
				if got := string(got); got != string(want)+"\n" {
					t.Fatalf("appendPlain(%+v)\n got %s\nwant %s", e, got, want)
				}
			}
			var old bytes.Buffer
			if appendPlainOld(&old, &e) {
				got, ok := appendPlain(nil, &e, &st)
				if !ok || string(got) != old.String() {
					t.Fatalf("appendPlain(%+v) = %s, %v; the old one wrote %s", e, got, ok, old.String())
				}
			}
		}
	})
}
