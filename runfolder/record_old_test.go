package runfolder

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/timetext"
)

// appendRecordOld is appendRecord as it was before it kept the last time's
// text (a stamp), kept to compare with.
func appendRecordOld(dst []byte, rec engine.StepRecord) (_ []byte, plain bool, _ error) {
	if !plainRecordOld(&rec) {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, false, err
		}
		return append(dst, b...), false, nil
	}
	str := func(key, v string) {
		if v != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, key...)
			dst = append(dst, `":"`...)
			dst = append(dst, v...)
			dst = append(dst, '"')
		}
	}
	integer := func(key string, v int) {
		if v != 0 {
			dst = append(dst, `,"`...)
			dst = append(dst, key...)
			dst = append(dst, `":`...)
			dst = strconv.AppendInt(dst, int64(v), 10)
		}
	}
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, int64(rec.Seq), 10)
	str("id", rec.ID)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, rec.Kind...)
	dst = append(dst, '"')
	integer("line", rec.Line)
	str("command", rec.Command)
	str("transport", rec.Transport)
	integer("run", rec.Run)
	str("item", rec.Item)
	// RFC3339Nano alone, quotes outside: the layout time formats without
	// parsing it.
	dst = append(dst, `,"start":"`...)
	dst = rec.Start.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","end":"`...)
	dst = rec.End.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","status":"`...)
	dst = append(dst, rec.Status...)
	dst = append(dst, '"')
	str("error", rec.Error)
	str("output", rec.Output)
	str("sha256", rec.SHA256)
	str("note", rec.Note)
	if rec.AcceptedForm != nil {
		dst = append(dst, `,"accepted_form":`...)
		dst = strconv.AppendInt(dst, int64(*rec.AcceptedForm), 10)
	}
	if rec.NotEvidence {
		dst = append(dst, `,"not_evidence":true`...)
	}
	for i, l := range rec.Lets {
		if i == 0 {
			dst = append(dst, `,"lets":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":"`...)
		dst = append(dst, l.Name...)
		dst = append(dst, `","value":"`...)
		dst = append(dst, l.Value...)
		dst = append(dst, `"}`...)
	}
	if len(rec.Lets) > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}'), true, nil
}

// plainRecordOld is plainRecord as it was before a time the stamp holds
// was taken as plain.
func plainRecordOld(rec *engine.StepRecord) bool {
	if len(rec.Refused) > 0 || !plainTime(rec.Start) || !plainTime(rec.End) {
		return false
	}
	for _, s := range [...]string{rec.ID, rec.Kind, rec.Command, rec.Transport, rec.Item, rec.Status, rec.Error, rec.Output, rec.SHA256, rec.Note} {
		if !plainString(s) {
			return false
		}
	}
	for _, l := range rec.Lets {
		if !plainString(l.Name) || !plainString(l.Value) {
			return false
		}
	}
	return true
}

// FuzzAppendRecordStamp: records written one after another through one
// stamp, their times the same instant or not, in the same zone or not, are
// the bytes appendRecordOld writes for each.
func FuzzAppendRecordStamp(f *testing.F) {
	f.Add(int64(1796195019568889379), int64(0), int64(0), 0, 0, uint8(0))
	f.Add(int64(1796195019568889379), int64(50e6), int64(0), 3600, 0, uint8(5))
	f.Add(int64(0), int64(1), int64(-1), 0, 60, uint8(0xff))
	f.Add(int64(-9e18), int64(0), int64(0), 0, 0, uint8(3))
	f.Fuzz(func(t *testing.T, ns, d1, d2 int64, off1, off2 int, how uint8) {
		z1, z2 := time.FixedZone("z", off1), time.FixedZone("z", off2)
		zones := []*time.Location{time.UTC, z1, z2, z1}
		base := time.Unix(0, ns)
		times := []time.Time{base, base.Add(time.Duration(d1)), base.Add(time.Duration(d2)), base}
		var st timetext.Last
		var got, want []byte
		for i := range 6 {
			k := int(how>>i) & 3
			rec := engine.StepRecord{Seq: i + 1, ID: "s" + strconv.Itoa(i), Kind: "run", Command: "show clock", Status: "ok",
				Start: times[k].In(zones[k]), End: times[(k+i)&3].In(zones[(k+1)&3])}
			if i == 2 {
				rec.Start = rec.Start.UTC() // the same instant, another zone
			}
			var err, werr error
			got, _, err = appendRecord(got, rec, &st)
			want, _, werr = appendRecordOld(want, rec)
			if (err == nil) != (werr == nil) {
				t.Fatalf("record %d: error %v, old %v", i+1, err, werr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d:\n got %s\nwant %s", i+1, got, want)
			}
		}
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 568889379, time.UTC)
	rec := engine.StepRecord{Seq: 4711, ID: "s4710", Kind: "run", Line: 9000, Command: "show vpn flow tunnel-id 4710", Transport: "replay",
		Start: at, End: at, Status: "ok", Output: "steps/4711-s4710.txt", SHA256: "4f8b62af4d618a9bff749a4fa460a9e61042f65998065cc11f799de23cce5b00"}
	var buf []byte
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			buf, _, _ = appendRecordOld(buf[:0], rec)
		}
	})
	b.Run("new", func(b *testing.B) {
		var st timetext.Last
		for b.Loop() {
			buf, _, _ = appendRecord(buf[:0], rec, &st)
		}
	})
	b.Run("new-live", func(b *testing.B) { // every time another
		var st timetext.Last
		for b.Loop() {
			rec.Start, rec.End = rec.Start.Add(time.Microsecond), rec.End.Add(2*time.Microsecond)
			buf, _, _ = appendRecord(buf[:0], rec, &st)
		}
	})
	b.Run("old-live", func(b *testing.B) {
		for b.Loop() {
			rec.Start, rec.End = rec.Start.Add(time.Microsecond), rec.End.Add(2*time.Microsecond)
			buf, _, _ = appendRecordOld(buf[:0], rec)
		}
	})
}
