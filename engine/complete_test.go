package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
)

// TestCompleteRunFolder rebuilds the record of runs whose engine died at
// different points, from the journal alone: the status is never left at
// running, every step and every undo record in the journal is there (also
// undo commands that completed before the engine died), what is still
// pending is listed, summary.md is written, and a second call changes
// nothing.
func TestCompleteRunFolder(t *testing.T) {
	const start = `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"basic","target":"fw1","transport":"ssh","version":1,"params":{"tunnel":"sap"}}
`
	const running = `{"version":1,"playbook":{"name":"basic"},"target":{"name":"fw1","transport":"ssh"},"status":"running","steps":[],"undo":[],"cleanup":[],"artifacts":[],"findings":[]}`
	cases := []struct {
		name     string
		journal  string
		manifest string // "" : none was written
		status   string
		exit     int
		steps    []string // command => status
		undo     []string // command => status
		pending  []string
	}{
		{
			name:     "killed before the first debug command",
			journal:  start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}` + "\n",
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show clock => interrupted"},
		},
		{
			name: "killed before the first manifest",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","seq":1,"status":"ok"}
`,
			status: "interrupted", exit: 130,
			steps: []string{"show clock => ok"},
		},
		{
			name: "killed during cleanup, one undo done",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"undo-intent","seq":1,"command":"debug ike pcap on","undo":["debug ike pcap off"]}
{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"debug ike pcap on"}
{"time":"2026-01-02T03:04:06Z","event":"undo-armed","seq":1,"undo":["debug ike pcap off"]}
{"time":"2026-01-02T03:04:06Z","event":"step-end","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"undo-intent","seq":2,"command":"debug ike global on debug","undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:07Z","event":"step-start","seq":2,"command":"debug ike global on debug"}
{"time":"2026-01-02T03:04:07Z","event":"undo-armed","seq":2,"undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:08Z","event":"step-end","seq":2,"status":"interrupted","error":"interrupted"}
{"time":"2026-01-02T03:04:09Z","event":"cleanup-entry","key":"undo-2-0","command":"debug ike global on normal","status":"ok"}
`,
			manifest: running, status: "interrupted", exit: 3,
			steps:   []string{"debug ike pcap on => ok", "debug ike global on debug => interrupted"},
			undo:    []string{"debug ike global on normal => ok"},
			pending: []string{"debug ike pcap off"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(c.journal), 0o600); err != nil {
				t.Fatal(err)
			}
			if c.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(c.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rebuilt, err := engine.CompleteRunFolder(runfolder.Open(dir))
			if err != nil || !rebuilt {
				t.Fatalf("CompleteRunFolder: %v, %v; want true, nil", rebuilt, err)
			}
			m, err := engine.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != c.status || m.ExitCode != c.exit {
				t.Errorf("status %q exit %d, want %q %d", m.Status, m.ExitCode, c.status, c.exit)
			}
			var steps, undo []string
			for _, s := range m.Steps {
				steps = append(steps, s.Command+" => "+s.Status)
			}
			for _, u := range m.Undo {
				undo = append(undo, u.Command+" => "+u.Status)
			}
			if !slices.Equal(steps, c.steps) {
				t.Errorf("steps %q, want %q", steps, c.steps)
			}
			if !slices.Equal(undo, c.undo) {
				t.Errorf("undo %q, want %q", undo, c.undo)
			}
			if !slices.Equal(m.CleanupPending, c.pending) {
				t.Errorf("cleanup_pending %q, want %q", m.CleanupPending, c.pending)
			}
			if _, err := os.Stat(filepath.Join(dir, "summary.md")); err != nil {
				t.Errorf("summary.md: %v", err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if rebuilt, err := engine.CompleteRunFolder(runfolder.Open(dir)); rebuilt || err != nil {
				t.Errorf("second CompleteRunFolder: %v, %v; want false, nil", rebuilt, err)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); string(after) != string(before) {
				t.Error("the second call rewrote the manifest")
			}
		})
	}
}
