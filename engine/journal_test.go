package engine_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestCleanupAfterTornJournal: the engine was killed mid-write, leaving a
// torn last line. runbook cleanup appends its results after it; they must
// land on lines of their own, so a second runbook cleanup can still read
// the journal and has nothing left to do.
func TestCleanupAfterTornJournal(t *testing.T) {
	dir := t.TempDir()
	journal := `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"basic","target":"fw1","transport":"replay","version":1}
{"time":"2026-01-02T03:04:06Z","event":"undo-intent","seq":1,"command":"debug ike global on debug","undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:07Z","event":"undo-armed","seq":1,"undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:08Z","eve`
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/basic-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context) (transports.Transport, error) {
		return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
	}
	rep, err := engine.FinishCleanup(context.Background(), dir, open, io.Discard, nil)
	if err != nil {
		t.Fatalf("first cleanup: %v", err)
	}
	if len(rep.Done) != 1 || len(rep.Failed) != 0 {
		t.Fatalf("first cleanup: done %q, failed %q; want the one undo done", rep.Done, rep.Failed)
	}
	rep, err = engine.FinishCleanup(context.Background(), dir, open, io.Discard, nil)
	if err != nil {
		t.Fatalf("second cleanup: %v", err)
	}
	if len(rep.Done)+len(rep.Failed) != 0 {
		t.Errorf("second cleanup ran %q (failed %q), want nothing", rep.Done, rep.Failed)
	}
}
