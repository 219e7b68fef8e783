package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/timetext"
)

// BenchmarkJournalStep appends the journal lines of one step of report's
// BenchmarkReplayEndToEnd: its step-start and step-end, and every tenth
// step an undo-intent and undo-armed before and after the send (not
// synced here: Append syncs those, and the sync is the kernel's time, not
// ours). The journal is on tmpfs when /dev/shm exists.
//
//	go test ./engine -run '^$' -bench JournalStep -benchmem
func BenchmarkJournalStep(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "runbook-bench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	j, err := openJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	tm := time.Date(2026, 12, 2, 7, 3, 39, 568889379, time.UTC)
	undo := []Forms{{"debug off 10"}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%10 == 0 {
			// Durable in a run; appended here as a plain entry is, to
			// time the encoding, not the sync.
			if err := j.Append(JournalEntry{Time: tm, Event: evNote, Step: "s10", Seq: i, Command: "show vpn flow tunnel-id 10", Undo: undo}); err != nil {
				b.Fatal(err)
			}
		}
		if err := j.Append(JournalEntry{Time: tm, Event: evStepStart, Step: "s10", Seq: i, Command: "show vpn flow tunnel-id 10"}); err != nil {
			b.Fatal(err)
		}
		if err := j.Append(JournalEntry{Time: tm, Event: evStepEnd, Step: "s10", Seq: i, Status: "ok"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJournalEncode encodes the entries of BenchmarkJournalStep
// without writing them: "encoder" as the json.Encoder fallback does,
// "plain" appendPlain, "plain-stamp" appendPlain with the time of the
// entry before (a stamp), as Append does.
//
//	go test ./engine -run '^$' -bench JournalEncode -benchmem
func BenchmarkJournalEncode(b *testing.B) {
	tm := time.Date(2026, 12, 2, 7, 3, 39, 568889379, time.UTC)
	for _, c := range []struct {
		name string
		e    JournalEntry
	}{
		{"undo-intent", JournalEntry{Time: tm, Event: evUndoIntent, Step: "s10", Seq: 11, Command: "show vpn flow tunnel-id 10", Undo: []Forms{{"debug off 10"}}}},
		{"step-start", JournalEntry{Time: tm, Event: evStepStart, Step: "s10", Seq: 11, Command: "show vpn flow tunnel-id 10"}},
	} {
		var buf bytes.Buffer
		b.Run(c.name+"/encoder", func(b *testing.B) {
			enc := json.NewEncoder(&buf)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(&c.e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/plain", func(b *testing.B) {
			b.ReportAllocs()
			var line []byte
			var ok bool
			for b.Loop() {
				if line, ok = appendPlain(line[:0], &c.e, nil); !ok {
					b.Fatal("not plain")
				}
			}
		})
		b.Run(c.name+"/plain-stamp", func(b *testing.B) {
			var st timetext.Last
			b.ReportAllocs()
			var line []byte
			var ok bool
			for b.Loop() {
				if line, ok = appendPlain(line[:0], &c.e, &st); !ok {
					b.Fatal("not plain")
				}
			}
		})
	}
}
