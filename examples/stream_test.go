package examples_test

// This file sorts after sim_test.go on purpose: `go test ./examples
// -update` regenerates the cassettes (TestSimulatorRuns) before the event
// streams of their replays are rewritten here, so one -update leaves both
// in step.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestReplayEventStreams pins, for every shipped cassette, the NDJSON
// event stream of its replay (`runbook run --json`) in
// testdata/events/NAME.ndjson. The run folder's path, the only thing that
// differs between two replays, is written RUNDIR.
func TestReplayEventStreams(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("cassettes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".expect.yaml") })
	if len(files) == 0 {
		t.Fatal("no cassettes")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, err := replay.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			var stream bytes.Buffer
			js := observe.NewJSON(&stream)
			res, _ := replayRunObserved(t, c, js)
			if err := js.Err(); err != nil {
				t.Fatal(err)
			}
			if res.Dir == "" {
				t.Fatal("no run folder")
			}
			got := bytes.ReplaceAll(stream.Bytes(), []byte(res.Dir), []byte("RUNDIR"))
			checkStreamShape(t, got)
			path := filepath.Join("testdata", "events", name+".ndjson")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./examples -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event stream differs from %s (run go test ./examples -update after checking why):\n%s", path, firstDiff(want, got))
			}
		})
	}
}

// checkStreamShape checks what every stream holds whatever the cassette:
// it starts with run-started and ends with run-ended, each line one event
// of the current schema.
func checkStreamShape(t *testing.T, b []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i, l := range lines {
		var e engine.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.V != engine.EventSchema {
			t.Fatalf("line %d %q: not an event of schema %d (%v)", i+1, l, engine.EventSchema, err)
		}
		switch {
		case i == 0 && e.Type != engine.EvRunStarted:
			t.Errorf("first event %s, want run-started", e.Type)
		case i == len(lines)-1 && e.Type != engine.EvRunEnded:
			t.Errorf("last event %s, want run-ended", e.Type)
		}
	}
}

// firstDiff shows the first line where two streams differ.
func firstDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	var a, b string
	for i := 0; i < len(w) || i < len(g); i++ {
		a, b = "", ""
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("  line %d:\n    want %s\n    got  %s", i+1, a, b)
		}
	}
	return ""
}
