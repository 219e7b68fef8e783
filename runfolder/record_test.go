package runfolder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// recordCases are step records appendJSON writes itself and ones it hands
// to json.Marshal: strings JSON escapes, HTML characters, invalid UTF-8,
// times out of JSON's range or in a zone of seconds, refused forms.
func recordCases() []engine.StepRecord {
	t0 := time.Date(2026, 11, 27, 10, 2, 33, 123456789, time.UTC)
	paris := time.FixedZone("CET", 3600)
	lmt := time.FixedZone("LMT", 561)
	form, zero := 2, 0
	return []engine.StepRecord{
		{},
		{Seq: 1, ID: "s1", Kind: "run", Line: 4, Command: "show vpn flow tunnel-id 7", Transport: "ssh", Start: t0, End: t0.Add(time.Second), Status: "ok", Output: "steps/001-s1.txt", SHA256: "ab"},
		{Seq: 2, Kind: "note", Start: t0, End: t0, Status: "ok", Note: "a | b"},
		{Seq: 3, ID: "x", Kind: "run", Run: 3, Item: "eth1/1", Start: t0.In(paris), End: t0.Add(time.Millisecond).In(paris), Status: "failed", Error: "timeout after 30s", AcceptedForm: &form, NotEvidence: true},
		{Seq: 4, Kind: "run", Start: t0, End: t0, Status: "ok", AcceptedForm: &zero, Refused: []engine.RefusedForm{}},
		{Seq: 5, Kind: "run", Start: t0, End: t0, Status: "refused", Refused: []engine.RefusedForm{{Form: 0, Command: "show a", Error: "Invalid syntax."}}},
		{Seq: 6, Kind: "run", Command: `show "a" <b> & c`, Start: t0, End: t0, Status: "ok"},
		{Seq: 7, Kind: "run", Note: "line\nnext \u00e9 \\ \u2028 \x7f \x01", Start: t0, End: t0, Status: "ok"},
		{Seq: 8, Kind: "run", Item: "bad \xff utf8", Start: t0, End: t0, Status: "ok"},
		{Seq: -9, Line: -1, Run: -2, Kind: "run", Start: t0.In(lmt), End: t0, Status: "ok"},
		{Seq: 10, Kind: "run", Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), End: t0, Status: "ok"},
		{Seq: 11, Kind: "run", Start: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), End: t0, Status: "ok"},
		{Seq: 12, Kind: "run", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 100, time.Local), Status: "ok"},
		{Seq: 13, ID: "ike", Kind: "run", Command: "show vpn ike-sa gateway g1", Start: t0, End: t0, Status: "ok", Lets: []engine.LetValue{{Name: "GWS", Value: "[g1, g2]"}, {Name: "N", Value: "2"}}},
		{Seq: 14, Kind: "run", Start: t0, End: t0, Status: "skipped", Lets: []engine.LetValue{{Name: "GWS", Value: "[]"}, {}}},
		{Seq: 15, Kind: "run", Start: t0, End: t0, Status: "ok", Lets: []engine.LetValue{{Name: "PW", Value: "«redacted»"}, {Name: "L", Value: "[a, …3 more]"}}},
		{Seq: 16, Kind: "run", Start: t0, End: t0, Status: "ok", Lets: []engine.LetValue{{Name: "Q", Value: `say "a" <b>` + "\n"}}},
		{Seq: 17, Kind: "run", Start: t0, End: t0, Status: "ok", Lets: []engine.LetValue{}},
	}
}

// TestAppendJSONAsMarshal: appendJSON appends the bytes json.Marshal
// gives, or fails where it fails.
func TestAppendJSONAsMarshal(t *testing.T) {
	for i, rec := range recordCases() {
		want, werr := json.Marshal(rec)
		got, err := appendJSON([]byte("prefix"), rec)
		if (err != nil) != (werr != nil) {
			t.Fatalf("case %d: error %v, json.Marshal's %v", i, err, werr)
		}
		if werr != nil {
			continue
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("case %d:\n got %s\nwant prefix%s", i, got, want)
		}
	}
}

// FuzzAppendJSON: for any strings, numbers and times, appendJSON gives
// json.Marshal's bytes.
func FuzzAppendJSON(f *testing.F) {
	f.Add(1, "s1", "run", "show a", "ssh", "", "ok", "", "steps/001-s1.txt", "", int64(0), 0, false, "", "")
	f.Add(-3, "é", "", "a\"b<c>", "", "it\xffem", "x\ny", "\u2028", "", "n\\", int64(1e18), 61, true, "GWS", "[g1, …2 more]")
	f.Add(4, "s4", "run", "show b", "ssh", "", "ok", "", "", "", int64(0), 0, false, "N", "3")
	f.Fuzz(func(t *testing.T, seq int, id, kind, cmd, tr, item, status, errText, output, note string, ns int64, off int, notEv bool, letName, letValue string) {
		zone := time.FixedZone("z", off)
		rec := engine.StepRecord{Seq: seq, ID: id, Kind: kind, Line: seq / 2, Command: cmd, Transport: tr, Run: seq % 3, Item: item,
			Start: time.Unix(0, ns).In(zone), End: time.Unix(ns/1e9, ns%7).UTC(), Status: status, Error: errText, Output: output, SHA256: id, Note: note, NotEvidence: notEv}
		if seq%2 == 0 {
			rec.AcceptedForm = &seq
		}
		if letName != "" || letValue != "" {
			rec.Lets = []engine.LetValue{{Name: letName, Value: letValue}}
			if seq%3 == 0 {
				rec.Lets = append(rec.Lets, engine.LetValue{Name: letValue, Value: letName})
			}
		}
		want, werr := json.Marshal(rec)
		got, err := appendJSON(nil, rec)
		if (err != nil) != (werr != nil) {
			t.Fatalf("error %v, json.Marshal's %v", err, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// TestSummaryRowAsPrintf: summaryRow writes what the format it replaced
// wrote, with and without the via column.
func TestSummaryRowAsPrintf(t *testing.T) {
	old := func(s engine.StepRecord, via bool) string {
		cmd := s.Command
		if cmd == "" {
			cmd = s.Note
		}
		seq := ""
		if s.Seq > 0 {
			seq = fmt.Sprint(s.Seq)
		}
		status := s.Status
		if s.Status == "skipped" && s.Note != "" && s.Command != "" {
			status += " (" + mdCell(s.Note) + ")"
		}
		lets := ""
		if len(s.Lets) > 0 {
			lets = " (let " + mdCell(engine.LetsText(s.Lets)) + ")"
		}
		if via {
			return fmt.Sprintf("| %s | %s | %s%s%s | %s | %s | %s | %s |\n", seq, s.Start.Format("15:04:05"), s.ID, itemNote(s.Item), lets, mdCell(cmd), s.Transport, status, s.Output)
		}
		return fmt.Sprintf("| %s | %s | %s%s%s | %s | %s | %s |\n", seq, s.Start.Format("15:04:05"), s.ID, itemNote(s.Item), lets, mdCell(cmd), status, s.Output)
	}
	cases := recordCases()
	t0 := time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC)
	cases = append(cases,
		engine.StepRecord{Seq: 20, ID: "w", Kind: "wait", Status: "skipped", Note: "when | false", Command: "show x", Start: t0},
		engine.StepRecord{Seq: 21, ID: "w", Kind: "wait", Status: "skipped", Note: "when false", Start: t0},
		engine.StepRecord{Seq: 0, Item: "a|b\nc", Command: "x|y", Status: "ok", Start: t0},
		engine.StepRecord{Seq: 22, ID: "ike", Item: "t1", Command: "show x", Status: "skipped", Note: "when false", Start: t0, Lets: []engine.LetValue{{Name: "GWS", Value: "[a|b]"}, {Name: "S", Value: "x\ny"}}},
	)
	for i, rec := range cases {
		for _, via := range []bool{false, true} {
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			summaryRow(w, rec, via)
			w.Flush()
			if want := old(rec, via); b.String() != want {
				t.Errorf("case %d via %v:\n got %q\nwant %q", i, via, b.String(), want)
			}
		}
	}
}

// TestAppendIndentAsIndent: appendIndent indents compact JSON as
// json.Indent does, and hands what is not compact to it.
func TestAppendIndentAsIndent(t *testing.T) {
	var srcs [][]byte
	for _, rec := range recordCases() {
		if b, err := json.Marshal(rec); err == nil {
			srcs = append(srcs, b)
		}
	}
	for _, s := range []string{`{}`, `[]`, `[{}]`, `[[],{"a":[1,{"b":{}}]}]`, `{"a":"x,y:{[\"]}"}`, `"s"`, `12`, `{"a" : 1}`, ` {"a":1}`, `{"a":1}]`, `{"a":1`, `{"a":"b`, `{"a":"\\"}`, `}`, ``} {
		srcs = append(srcs, []byte(s))
	}
	for _, src := range srcs {
		var want bytes.Buffer
		want.WriteString("head")
		werr := json.Indent(&want, src, "    ", "  ")
		got, err := appendIndent([]byte("head"), src, "    ", "  ")
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s: error %v, json.Indent's %v", src, err, werr)
		}
		if werr == nil && string(got) != want.String() {
			t.Errorf("%s:\n got %s\nwant %s", src, got, want.String())
		}
	}
}

// FuzzAppendIndent: appendIndent indents any valid compact JSON as
// json.Indent does.
func FuzzAppendIndent(f *testing.F) {
	f.Add([]byte(`[[],{"a":[1,{"b":{}}]}]`))
	f.Add([]byte(`{"a":"x,y:{[\"]}"}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		var c bytes.Buffer
		if json.Compact(&c, src) != nil || !bytes.Equal(c.Bytes(), src) {
			return // not valid compact JSON: appendIndent is never handed it
		}
		var want bytes.Buffer
		werr := json.Indent(&want, src, "    ", "  ")
		got, err := appendIndent(nil, src, "    ", "  ")
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, json.Indent's %v", src, err, werr)
		}
		if werr == nil && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q:\n got %q\nwant %q", src, got, want.Bytes())
		}
	})
}

// everyField is a step record with every field set (Refused aside, which
// always goes through encoding/json), each to a value of its own: a field
// added to engine.StepRecord of a type it cannot fill fails t, saying to
// teach it and the code that must know the field (what).
func everyField(t *testing.T, what string) engine.StepRecord {
	t.Helper()
	var rec engine.StepRecord
	v := reflect.ValueOf(&rec).Elem()
	t0 := time.Date(2026, 11, 27, 10, 2, 33, 5, time.UTC)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if name == "Refused" {
			continue
		}
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(t0.Add(time.Duration(i) * time.Second)))
		case f.Kind() == reflect.String:
			f.SetString("x-" + name)
		case f.Kind() == reflect.Int:
			f.SetInt(int64(i + 1))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Int:
			n := reflect.New(f.Type().Elem())
			n.Elem().SetInt(3)
			f.Set(n)
		case f.Type() == reflect.TypeOf([]engine.LetValue{}):
			f.Set(reflect.ValueOf([]engine.LetValue{{Name: "x-" + name, Value: "v-" + name}, {}}))
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case f.Kind() == reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		default:
			t.Fatalf("StepRecord.%s: a %s this test cannot fill: teach it, and %s", name, f.Type(), what)
		}
	}
	return rec
}

// TestAppendJSONEveryField: a record with every field set (everyField)
// is written as json.Marshal writes it, so a field added to
// engine.StepRecord and not to appendJSON fails here rather than going
// missing from .steps.jsonl.
func TestAppendJSONEveryField(t *testing.T) {
	rec := everyField(t, "appendJSON")
	want, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendJSON(nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("appendJSON misses a field of engine.StepRecord:\n got %s\nwant %s", got, want)
	}
}

// FuzzRFC3339NanoQuoted: time formats RFC3339Nano alone (its fast path)
// with the bytes of the layout in quotes (parsed), for any time and zone,
// so appendJSON and the journal write the times they wrote before.
func FuzzRFC3339NanoQuoted(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1795773753), int64(123456789), 3600)
	f.Add(int64(-62167219200-86400), int64(120000000), 561)
	f.Add(int64(253402300800), int64(1), -34200)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", off%(36*3600)))
		want := tm.AppendFormat(nil, `"`+time.RFC3339Nano+`"`)
		got := append(append([]byte{'"'}, tm.AppendFormat(nil, time.RFC3339Nano)...), '"')
		if !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", tm, got, want)
		}
	})
}

// FuzzAppendClock: appendClock writes what AppendFormat writes with the
// layout "15:04:05", for any time in any zone.
func FuzzAppendClock(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1796195019), int64(568889379), 3600)
	f.Add(int64(-62135596800), int64(0), -37)
	f.Add(int64(253402300799), int64(999999999), 50400)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", off%(26*3600)))
		if got, want := string(appendClock([]byte("x"), tm)), string(tm.AppendFormat([]byte("x"), "15:04:05")); got != want {
			t.Fatalf("%v: got %q, want %q", tm, got, want)
		}
	})
}
