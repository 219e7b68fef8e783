package engine

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestJournalPlain pins that appendPlain writes exactly what json.Marshal
// writes, and that it takes the entries a step journals.
func TestJournalPlain(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	times := []time.Time{{}, time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC), time.Date(2026, 11, 27, 10, 2, 33, 123456789, berlin), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC)}
	strs := []string{"", "show clock", "s1", "ok", "a b/c-d_e.f:g", `with "quote"`, "a<b>&c", "tab\t", "«redacted»", "new\nline", `back\slash`}
	plain := 0
	var b bytes.Buffer
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
				{Time: tm, Event: evCleanupPlan, Forms: Forms{s, o}, Params: map[string]string{"a": s}},
			} {
				want, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				b.Reset()
				if !appendPlain(&b, &e) {
					continue
				}
				plain++
				if got := b.String(); got != string(want)+"\n" {
					t.Errorf("appendPlain(%+v)\n got %s\nwant %s", e, got, want)
				}
			}
		}
	}
	if e := (JournalEntry{Time: times[1], Event: evStepEnd, Seq: 7, Step: "s7", Status: "ok"}); !appendPlain(&b, &e) {
		t.Error("a plain step-end was not written plainly")
	}
	if plain < 30 {
		t.Errorf("only %d entries written plainly", plain)
	}
}
