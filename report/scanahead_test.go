package report

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// stepsManifest writes a manifest.json of n steps (seq 1..n) into a new
// folder, the record of step bad (if any) cut short, and returns the
// folder.
func stepsManifest(t *testing.T, n, bad int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"status":"ok","steps":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		if i == bad {
			b.WriteString(`{"seq":"x"}`)
			continue
		}
		b.WriteString(`{"seq":` + strconv.Itoa(i) + `,"id":"s` + strconv.Itoa(i) + `","kind":"run","status":"ok"}`)
	}
	b.WriteString(`]}`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// settled fails t unless the goroutines are back to before within a
// second: scanAhead left none behind.
func settled(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before scanAhead", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestScanAhead: scanAhead hands every step over in order, in batches of
// at most scanBatch, and ends its goroutine before it returns: when the
// scan ends, when fn fails or panics while the scan is ahead of it, and
// when the scan fails.
func TestScanAhead(t *testing.T) {
	const n = scanBatch*scanBatches*3 + 5
	dir := stepsManifest(t, n, 0)
	before := runtime.NumGoroutine()

	next := 1
	m, err := scanAhead(dir, func(b []engine.StepRecord) error {
		if len(b) == 0 || len(b) > scanBatch {
			t.Fatalf("a batch of %d", len(b))
		}
		for _, s := range b {
			if s.Seq != next || s.ID != "s"+strconv.Itoa(next) {
				t.Fatalf("step %d (%s), want %d", s.Seq, s.ID, next)
			}
			next++
		}
		return nil
	})
	if err != nil || m == nil || m.Status != "ok" || next != n+1 {
		t.Fatalf("scanAhead: %v, %+v, %d steps", err, m, next-1)
	}
	settled(t, before)

	stop := errors.New("stop here")
	calls := 0
	_, err = scanAhead(dir, func([]engine.StepRecord) error {
		if calls++; calls == 2 {
			time.Sleep(10 * time.Millisecond) // the scan fills every batch
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("fn's error: got %v after %d calls", err, calls)
	}
	settled(t, before)

	func() {
		defer func() {
			if p := recover(); p != "fn panics" {
				t.Fatalf("recovered %v, want fn's panic", p)
			}
		}()
		scanAhead(dir, func([]engine.StepRecord) error {
			time.Sleep(10 * time.Millisecond)
			panic("fn panics")
		})
		t.Fatal("scanAhead returned")
	}()
	settled(t, before)

	bad := stepsManifest(t, n, scanBatch*2+3)
	seen := 0
	if _, err = scanAhead(bad, func(b []engine.StepRecord) error { seen += len(b); return nil }); err == nil {
		t.Fatal("a bad record: no error")
	}
	if seen > scanBatch*2 {
		t.Errorf("a bad record: %d steps handed over, at most the %d before its batch", seen, scanBatch*2)
	}
	settled(t, before)

	if _, err = scanAhead(filepath.Join(dir, "none"), func([]engine.StepRecord) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no folder: error %v", err)
	}
	settled(t, before)
}
