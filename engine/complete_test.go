package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports/replay"
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
		notes    []string
		missing  []string // step (run) command: error | by hand
		summary  []string // in summary.md
	}{
		{
			name:     "killed before the first debug command",
			journal:  start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}` + "\n",
			manifest: running, status: "interrupted", exit: 130,
			steps:   []string{"show clock => interrupted"},
			missing: []string{" (0) show clock: cut short: the engine was killed while this step ran, so its output is not in the run folder | Run `show clock` on the firewall's CLI while the problem happens; save its output with the run folder."},
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
		{
			name: "killed during a wait step",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:08Z","event":"wait-start","step":"collect","kind":"wait","message":"letting the debug collect","wait_ms":90000}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show clock => ok", "wait 1m30s letting the debug collect => interrupted"},
			notes: []string{"runbook cleanup: the engine was killed during a wait of 1m30s (letting the debug collect), which started at 2026-01-02T03:04:08Z and was to end at 2026-01-02T03:05:38Z; nothing after it ran"},
		},
		{
			// A journal from before a pause said what it holds back: noted.
			name: "killed during the pause between two runs, old journal",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"wait-start","message":"next run of show clock (2/3)","wait_ms":10000}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show clock => ok"},
			notes: []string{"runbook cleanup: the engine was killed during a wait of 10s (next run of show clock (2/3)), which started at 2026-01-02T03:04:07Z and was to end at 2026-01-02T03:04:17Z; nothing after it ran"},
		},
		{
			name: "killed during the pause between two runs",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","step":"tick","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","step":"tick","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"wait-start","step":"tick","message":"next run of show clock (2/3)","wait_ms":10000,"pause":{"run":2,"runs":3,"interval_ms":10000,"sends":[{"forms":["show clock"]}]}}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show clock => ok"},
			notes: []string{"runbook cleanup: the engine was killed during a wait of 10s (next run of show clock (2/3)), which started at 2026-01-02T03:04:07Z and was to end at 2026-01-02T03:04:17Z; nothing after it ran; " +
				"step tick was paused before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not (listed in the missing evidence)"},
			missing: []string{"tick (2) show clock: cut short: the engine was killed in the pause before run 2 of 3: 1 run was taken of its 3, runs 2-3 were not | " +
				"Run `show clock` on the firewall's CLI 2 more times, 10s apart, while the problem happens; save each output with the run folder."},
		},
		{
			name: "killed during the pause between two tries",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show vpn flow tunnel-id 1"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"step-start","seq":2,"command":"show vpn flow tunnel-id 1"}
{"time":"2026-01-02T03:04:08Z","event":"step-end","seq":2,"status":"ok"}
{"time":"2026-01-02T03:04:08Z","event":"wait-start","message":"retry 3/3 of show vpn flow tunnel-id 1","wait_ms":5000,"pause":{"run":1,"runs":1,"try":3,"tries":3,"retry_ms":5000,"until":"output.fields.state == \"active\"","sends":[{"forms":["show vpn flow tunnel-id 1"]}]}}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show vpn flow tunnel-id 1 => ok", "show vpn flow tunnel-id 1 => ok"},
			notes: []string{"runbook cleanup: the engine was killed during a wait of 5s (retry 3/3 of show vpn flow tunnel-id 1), which started at 2026-01-02T03:04:08Z and was to end at 2026-01-02T03:04:13Z; nothing after it ran; " +
				"step `show vpn flow tunnel-id 1` was paused before try 3 of 3 (until: `output.fields.state == \"active\"` was not yet true): 2 tries were taken of its 3 (listed in the missing evidence)"},
			missing: []string{" (1) show vpn flow tunnel-id 1: cut short: the engine was killed in the pause before try 3 of 3 (until: `output.fields.state == \"active\"` was not yet true): 2 tries were taken of its 3 | " +
				"Run `show vpn flow tunnel-id 1` on the firewall's CLI at most 1 more time, 5s apart, until `output.fields.state == \"active\"` holds, while the problem happens; save each output with the run folder."},
			// A step without id, and nothing sent: named by its command.
			summary: []string{"- **\"show vpn flow tunnel-id 1\" (run 1)**: `show vpn flow tunnel-id 1` (interrupted)"},
		},
		{
			// Ctrl-C in the pause, then the engine killed in its cleanup:
			// the missing evidence the run listed is rebuilt.
			name: "stopped in a pause, killed in the cleanup",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"step-start","step":"tick","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:07Z","event":"step-end","step":"tick","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"wait-start","step":"tick","message":"next run of show clock (3/3)","wait_ms":10000,"pause":{"run":3,"runs":3,"sends":[{"forms":["show clock"]}],"undo":["debug ike global on normal"]}}
{"time":"2026-01-02T03:04:09Z","event":"wait-end","status":"interrupted"}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps: []string{"show clock => ok"},
			missing: []string{"tick (3) show clock: cut short: the run was interrupted in the pause before run 3 of 3: 2 runs were taken of its 3, run 3 was not | " +
				"Run `show clock` on the firewall's CLI 1 more time, while the problem happens, then `debug ike global on normal` once the evidence is taken; save each output with the run folder."},
		},
		{
			// Numbers that do not hold together (a journal edited by hand):
			// noted, nothing made up.
			name: "killed during a pause that does not add up",
			journal: start + `{"time":"2026-01-02T03:04:07Z","event":"wait-start","step":"tick","message":"next run of show clock (4/3)","wait_ms":10000,"pause":{"run":4,"runs":3,"sends":[{"forms":["show clock"]}]}}
`,
			manifest: running, status: "interrupted", exit: 130,
			notes: []string{"runbook cleanup: the engine was killed during a wait of 10s (next run of show clock (4/3)), which started at 2026-01-02T03:04:07Z and was to end at 2026-01-02T03:04:17Z; nothing after it ran"},
		},
		{
			name: "killed during the pause before the first run",
			journal: start + `{"time":"2026-01-02T03:04:07Z","event":"wait-start","step":"tick","message":"next run of show clock (1/3), together with fw2","wait_ms":10000,"pause":{"run":1,"runs":3,"sends":[{"forms":["show clock"]}]}}
`,
			manifest: running, status: "interrupted", exit: 130,
			notes: []string{"runbook cleanup: the engine was killed during a wait of 10s (next run of show clock (1/3), together with fw2), which started at 2026-01-02T03:04:07Z and was to end at 2026-01-02T03:04:17Z; nothing after it ran"},
		},
		{
			// The wait's record is rebuilt from the journal too.
			name: "killed after a wait ended",
			journal: start + `{"time":"2026-01-02T03:04:06Z","event":"wait-start","kind":"wait","wait_ms":1000}
{"time":"2026-01-02T03:04:07Z","event":"wait-end","status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"step-start","seq":1,"command":"show clock"}
`,
			manifest: running, status: "interrupted", exit: 130,
			steps:   []string{"wait 1s  => ok", "show clock => interrupted"},
			missing: []string{" (0) show clock: cut short: the engine was killed while this step ran, so its output is not in the run folder | Run `show clock` on the firewall's CLI while the problem happens; save its output with the run folder."},
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
			m := rebuild(t, dir)
			if m.Status != c.status || m.ExitCode != c.exit {
				t.Errorf("status %q exit %d, want %q %d", m.Status, m.ExitCode, c.status, c.exit)
			}
			var steps, undo []string
			for _, s := range m.Steps {
				what := s.Command
				if s.Kind == "wait" {
					what = s.Note
					if s.Status == "ok" && (!s.Start.Equal(time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)) || !s.End.Equal(time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC))) {
						t.Errorf("the wait's record %+v, want it from its start to its end", s)
					}
					if s.Status == "interrupted" && (!strings.HasPrefix(s.Error, "cut short: the engine was killed during a wait of ") || s.ID != "collect" || !s.Start.Equal(time.Date(2026, 1, 2, 3, 4, 8, 0, time.UTC))) {
						t.Errorf("the wait's record %+v, want the wait collect, cut short, from its start", s)
					}
				}
				steps = append(steps, what+" => "+s.Status)
			}
			if !slices.Equal(m.Notes, c.notes) {
				t.Errorf("notes %q, want %q", m.Notes, c.notes)
			}
			var missing []string
			for _, x := range m.Missing {
				missing = append(missing, fmt.Sprintf("%s (%d) %s: %s | %s", x.Step, x.Run, x.Command, x.Error, x.ByHand))
			}
			if !slices.Equal(missing, c.missing) {
				t.Errorf("missing_evidence %q, want %q", missing, c.missing)
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
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Errorf("summary.md: %v", err)
			}
			for _, w := range c.summary {
				if !strings.Contains(string(sum), w) {
					t.Errorf("summary.md has no %q:\n%s", w, sum)
				}
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

// TestCompleteRunFolderFromRecords: the run wrote its step records as it
// went (through the real run folder) and was killed; CompleteRunFolder
// rebuilds manifest.json from those records and the journal: every
// recorded step as it was recorded (waits and notes too, outputs and
// their sha256), the step the journal shows sent with no record rebuilt
// from the journal, the missing evidence (a step that failed and let the
// run go on; a step the kill cut short, with how to take it by hand; not
// a failed step the run may have stopped at), the device's clock, a torn
// last record ignored and said so. The records are removed once the
// record is written; a second call changes nothing.
func TestCompleteRunFolderFromRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	clock := "Fri Jan  2 03:04:06 UTC 2026\n"
	ikeSA := "# failed: show vpn ike-sa gateway gw9: Invalid syntax.\n"
	pcapOn := ""
	flow := "tunnel  sap-sap\nid:  1\n"
	type step struct {
		rec  engine.StepRecord
		text *string // its output, written before the record
	}
	recorded := []step{
		{engine.StepRecord{Seq: 1, ID: "clock", Kind: "run", Line: 5, Command: "show clock", Transport: "ssh", Start: at(1), End: at(1), Status: "ok"}, &clock},
		{engine.StepRecord{Kind: "note", Line: 7, Start: at(2), End: at(2), Status: "ok", Note: "collecting"}, nil},
		{engine.StepRecord{Seq: 2, ID: "ike", Kind: "run", Line: 9, Command: "show vpn ike-sa gateway gw9", Transport: "ssh", Start: at(3), End: at(4), Status: "failed", Error: "invalid syntax"}, &ikeSA},
		{engine.StepRecord{Seq: 3, Kind: "run", Line: 12, Command: "debug ike pcap on", Transport: "ssh", Start: at(5), End: at(5), Status: "ok"}, &pcapOn},
		{engine.StepRecord{Kind: "wait", Line: 14, Start: at(6), End: at(66), Status: "ok", Note: "wait 1m0s"}, nil},
	}
	journal := `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"basic","target":"fw1","transport":"ssh","version":1}
{"time":"2026-01-02T03:04:06Z","event":"step-start","step":"clock","seq":1,"command":"show clock"}
{"time":"2026-01-02T03:04:06Z","event":"step-end","step":"clock","seq":1,"status":"ok"}
{"time":"2026-01-02T03:04:07Z","event":"note","message":"collecting"}
{"time":"2026-01-02T03:04:08Z","event":"step-start","step":"ike","seq":2,"command":"show vpn ike-sa gateway gw9"}
{"time":"2026-01-02T03:04:09Z","event":"step-end","step":"ike","seq":2,"status":"failed","error":"invalid syntax"}
{"time":"2026-01-02T03:04:10Z","event":"undo-intent","seq":3,"command":"debug ike pcap on","undo":["debug ike pcap off"]}
{"time":"2026-01-02T03:04:10Z","event":"step-start","seq":3,"command":"debug ike pcap on"}
{"time":"2026-01-02T03:04:10Z","event":"undo-armed","seq":3}
{"time":"2026-01-02T03:04:10Z","event":"step-end","seq":3,"status":"ok"}
{"time":"2026-01-02T03:05:11Z","event":"step-start","step":"flow","seq":4,"command":"show vpn flow tunnel-id 1"}
`
	byHand := "Run `show vpn flow tunnel-id 1` on the firewall's CLI while the problem happens; save its output with the run folder."
	ikeMissing := engine.MissingRecord{Seq: 2, Step: "ike", Kind: "run", Command: "show vpn ike-sa gateway gw9", Status: "failed", Error: "invalid syntax",
		ByHand: "Run `show vpn ike-sa gateway gw9` on the firewall's CLI while the problem happens; save its output with the run folder."}
	cutMissing := engine.MissingRecord{Seq: 4, Step: "flow", Kind: "run", Command: "show vpn flow tunnel-id 1", Status: "interrupted",
		Error: "cut short: the engine was killed while this step ran, so its output is not in the run folder", ByHand: byHand}
	cases := []struct {
		name string
		// steps are recorded; flowOut writes step 4's output (the kill
		// came after it); torn is appended to the records unended.
		steps   []step
		flowOut bool
		torn    string
		// cut: the journal shows step 4 sent (else it ends with step 2);
		// notEvidence: its step-start says the step takes no evidence.
		cut, notEvidence bool
		missing          []engine.MissingRecord
		note             string // in the notes
		last             string // the last step: command => status
	}{
		{name: "killed while the device ran a command", steps: recorded, cut: true, missing: []engine.MissingRecord{ikeMissing, cutMissing},
			last: "show vpn flow tunnel-id 1 => interrupted"},
		{name: "killed while a step that takes no evidence ran", steps: recorded, cut: true, notEvidence: true, missing: []engine.MissingRecord{ikeMissing},
			last: "show vpn flow tunnel-id 1 => interrupted"},
		{name: "killed while the record was written", steps: recorded, cut: true, flowOut: true,
			torn:    `{"seq":4,"id":"flow","kind":"run","line":16,"command":"show vpn flow tun`,
			missing: []engine.MissingRecord{ikeMissing},
			note:    "runbook cleanup: the last step record the run wrote was cut short by the kill and is ignored (line 6 of .steps.jsonl, 72 bytes); that step is rebuilt from the journal",
			last:    "show vpn flow tunnel-id 1 => interrupted"},
		{name: "killed right after a failed step", steps: recorded[:3],
			last: "show vpn ike-sa gateway gw9 => failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			f, err := runfolder.Create(engine.FolderSpec{Dir: dir, Start: t0, Playbook: "basic", Target: "fw1"})
			if err != nil {
				t.Fatal(err)
			}
			j := journal
			if !c.cut { // the journal as far as the records go
				j = strings.Join(strings.SplitAfter(journal, "\n")[:6], "")
			}
			if c.notEvidence {
				j = strings.Replace(j, `"command":"show vpn flow tunnel-id 1"}`, `"command":"show vpn flow tunnel-id 1","not_evidence":true}`, 1)
			}
			if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(j), 0o600); err != nil {
				t.Fatal(err)
			}
			head := &engine.Manifest{Version: 1, Playbook: engine.ManifestPlaybook{Name: "basic"}, Target: engine.ManifestTarget{Name: "fw1", Transport: "ssh"},
				Started: t0, Status: "running", Undo: []engine.CleanupRecord{}, Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}}
			if err := f.Record(engine.Event{Type: engine.EvRunStarted, Write: &engine.FolderWrite{Manifest: head}}); err != nil {
				t.Fatal(err)
			}
			var want []engine.StepRecord
			for _, s := range c.steps {
				rec := s.rec
				w := &engine.FolderWrite{Step: &rec}
				if s.text != nil {
					w.File, w.Output = fmt.Sprintf("steps/%03d-%s.txt", rec.Seq, map[bool]string{true: rec.ID, false: "x"}[rec.ID != ""]), []byte(*s.text)
				}
				if err := f.Record(engine.Event{Type: engine.EvStepEnded, Seq: rec.Seq, Write: w}); err != nil {
					t.Fatal(err)
				}
				if s.text != nil { // the folder names the output and its sha256
					sum := sha256.Sum256([]byte(*s.text))
					rec.Output, rec.SHA256 = w.File, hex.EncodeToString(sum[:])
				}
				want = append(want, rec)
			}
			if c.flowOut {
				if err := os.WriteFile(filepath.Join(dir, "steps/004-flow.txt"), []byte(flow), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.torn != "" {
				rf, err := os.OpenFile(filepath.Join(dir, runfolder.RecordsFile), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := rf.WriteString(c.torn); err != nil {
					t.Fatal(err)
				}
				rf.Close()
			}
			// The engine is killed here: no End.

			m := rebuild(t, dir)
			exit, pending := 130, []string(nil)
			if c.cut {
				exit, pending = 3, []string{"debug ike pcap off"}
			}
			if m.Status != "interrupted" || m.ExitCode != exit || !slices.Equal(m.CleanupPending, pending) {
				t.Errorf("status %q exit %d pending %q, want interrupted %d %q", m.Status, m.ExitCode, m.CleanupPending, exit, pending)
			}
			if !strings.Contains(m.Error, "rebuilt it from the step records the run wrote and the journal") {
				t.Errorf("error %q does not say what the record was rebuilt from", m.Error)
			}
			if n := len(want) + map[bool]int{true: 1}[c.cut]; len(m.Steps) != n {
				t.Fatalf("%d steps, want the %d recorded and the one the journal shows sent after them (%v): %+v", len(m.Steps), len(want), c.cut, m.Steps)
			}
			for i, w := range want {
				if got := m.Steps[i]; !reflect.DeepEqual(got, w) {
					t.Errorf("step %d:\n%+v\nwant the record as written\n%+v", i, got, w)
				}
			}
			for _, s := range m.Steps {
				if s.Output == "" {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, s.Output))
				if err != nil {
					t.Fatal(err)
				}
				if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != s.SHA256 {
					t.Errorf("%s: sha256 %s in the manifest, %x on disk", s.Output, s.SHA256, h)
				}
			}
			last := m.Steps[len(m.Steps)-1]
			if got := last.Command + " => " + last.Status; got != c.last {
				t.Errorf("last step %q, want %q", got, c.last)
			}
			if c.cut && (last.Output != "") != c.flowOut {
				t.Errorf("last step's output %q, want one: %v", last.Output, c.flowOut)
			}
			if !reflect.DeepEqual(m.Missing, c.missing) {
				t.Errorf("missing_evidence\n%+v\nwant\n%+v", m.Missing, c.missing)
			}
			if m.DeviceClock != strings.TrimSpace(clock) {
				t.Errorf("device_clock %q, want %q", m.DeviceClock, strings.TrimSpace(clock))
			}
			if c.note != "" && !slices.Contains(m.Notes, c.note) {
				t.Errorf("notes %q, want %q among them", m.Notes, c.note)
			}
			if c.note == "" && slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, "cut short") }) {
				t.Errorf("notes %q say a record was cut, none was", m.Notes)
			}
			for _, name := range []string{runfolder.RecordsFile, ".summary-rows"} {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s left behind: %v", name, err)
				}
			}
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			wantSum := append([]string{"| 1 | 03:04:06 | clock | show clock | ok | steps/001-clock.txt |", "| Device clock at the problem | Fri Jan  2 03:04:06 UTC 2026 |"}, m.Notes...)
			for _, x := range c.missing {
				wantSum = append(wantSum, "  - by hand: "+x.ByHand)
			}
			for _, w := range wantSum {
				if !strings.Contains(string(sum), w) {
					t.Errorf("summary.md has no %q:\n%s", w, sum)
				}
			}
			if strings.Contains(string(sum), "## Missing evidence") != (len(c.missing) > 0) {
				t.Errorf("summary.md has a Missing evidence section: %v, want %v", !(len(c.missing) > 0), len(c.missing) > 0)
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

// TestCompleteRunFolderBadRecord: a record other than the last that
// cannot be read is an error, and the folder is left as the run left it
// (the records kept for a person to read).
func TestCompleteRunFolderBadRecord(t *testing.T) {
	dir := t.TempDir()
	journal := `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"basic","target":"fw1","transport":"ssh","version":1}
{"time":"2026-01-02T03:04:06Z","event":"step-start","seq":1,"command":"show clock"}
`
	records := `{"seq":1,"kind":"run","command":"show clock","start":"2026-01-02T03:04:06Z","end":"2026-01-02T03:04:06Z","status":"ok"}
{"seq":2,"kind":"run","comm
{"seq":3,"kind":"run","command":"show system info","start":"2026-01-02T03:04:06Z","end":"2026-01-02T03:04:06Z","status":"ok"}
`
	const running = `{"version":1,"playbook":{"name":"basic"},"target":{"name":"fw1","transport":"ssh"},"status":"running","steps":[],"undo":[],"cleanup":[],"artifacts":[],"findings":[]}`
	for name, body := range map[string]string{engine.JournalFile: journal, runfolder.RecordsFile: records, "manifest.json": running} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rebuilt, err := engine.CompleteRunFolder(runfolder.Open(dir))
	if rebuilt || err == nil || !strings.Contains(err.Error(), runfolder.RecordsFile+":2: ") {
		t.Errorf("CompleteRunFolder: %v, %v; want false and the error of line 2", rebuilt, err)
	}
	for name, body := range map[string]string{runfolder.RecordsFile: records, "manifest.json": running} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != body {
			t.Errorf("%s changed:\n%s", name, b)
		}
	}
}

// rebuild runs runbook cleanup's rebuild (CompleteRunFolder) on the run
// folder dir, which must need one, and returns the manifest it wrote.
func rebuild(t *testing.T, dir string) *engine.Manifest {
	t.Helper()
	rebuilt, err := engine.CompleteRunFolder(runfolder.Open(dir))
	if err != nil || !rebuilt {
		t.Fatalf("CompleteRunFolder: %v, %v; want true, nil", rebuilt, err)
	}
	m, err := engine.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wrapped creates the run folder as a run does (runfolder.Create), and
// hands the run wrap's folder around it instead.
func wrapped(wrap func(engine.Folder) engine.Folder) func(engine.FolderSpec) (engine.Folder, error) {
	return func(spec engine.FolderSpec) (engine.Folder, error) {
		f, err := runfolder.Create(spec)
		if err != nil {
			return nil, err
		}
		return wrap(f), nil
	}
}

// killedAt is a run folder that keeps, when the run is about to write its
// end (run-ended), a copy of itself in killed with the journal cut before
// its run-end: the folder of a run whose engine was killed there, every
// step recorded.
type killedAt struct {
	engine.Folder
	t      *testing.T
	killed string
}

func (f *killedAt) Record(e engine.Event) error {
	if e.Type == engine.EvRunEnded {
		// Errorf, not Fatal: Record may run on the engine's goroutine.
		if err := f.kill(); err != nil {
			f.t.Errorf("keeping the killed folder: %v", err)
		}
	}
	return f.Folder.Record(e)
}

func (f *killedAt) kill() error {
	if err := os.CopyFS(f.killed, os.DirFS(f.Dir())); err != nil {
		return err
	}
	p := filepath.Join(f.killed, engine.JournalFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if !strings.Contains(l, `"event":"run-end"`) {
			kept = append(kept, l)
		}
	}
	return os.WriteFile(p, []byte(strings.Join(kept, "")), 0o600)
}

// TestCompleteRunFolderNotEvidence: a run in which a step that says
// `evidence: false` and an ordinary one both failed and let the run go
// on lists only the ordinary one as missing evidence, and so does the
// record runbook cleanup rebuilds from the step records when the engine
// was killed before it wrote its end: the record says the step takes no
// evidence (not_evidence).
func TestCompleteRunFolderNotEvidence(t *testing.T) {
	killed := filepath.Join(t.TempDir(), "killed")
	res, _ := runIt(t, runCfg{
		edit: func(c *replay.Cassette) {
			clock, flow := 0, 0
			for i, x := range c.Exchanges {
				switch x.Command {
				case "show clock":
					if clock++; clock == 1 {
						c.Exchanges[i].Output, c.Exchanges[i].Error = "", &replay.Error{Kind: replay.KindDevice, Message: "clock unavailable"}
					}
				case "show vpn flow tunnel-id 207":
					if flow++; flow == 3 {
						c.Exchanges[i].Output, c.Exchanges[i].Error = "", &replay.Error{Kind: replay.KindDevice, Message: "flow unavailable"}
					}
				}
			}
		},
		pbEdit: func(pb *playbook.Playbook) {
			clock := pb.Steps[2]
			if clock.ID != "clock" {
				t.Fatalf("step 2 is %q, want clock", clock.ID)
			}
			clock.OnError, clock.NotEvidence = playbook.OnErrorContinue, true
			flow := pb.Steps[4].Then[0]
			if flow.ID != "flow" {
				t.Fatalf("step 4's then is %q, want flow", flow.ID)
			}
			flow.OnError = playbook.OnErrorContinue
		},
		opts: func(o *engine.Options) {
			o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: killed} })
		},
	})
	if res.Status != engine.StatusIncomplete {
		t.Fatalf("status %s exit %d: %v", res.Status, res.ExitCode, res.Err)
	}
	steps := func(ms []engine.MissingRecord) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%d %s %s %s: %s", m.Seq, m.Step, m.Command, m.Status, m.Error))
		}
		return out
	}
	want := []string{`7 flow show vpn flow tunnel-id 207 failed: device refused "show vpn flow tunnel-id 207": flow unavailable`}
	if got := steps(res.Manifest.Missing); !slices.Equal(got, want) {
		t.Fatalf("the finished run's missing evidence %q, want %q", got, want)
	}
	var clockRec *engine.StepRecord
	for _, s := range written(t, res).Steps {
		if s.ID == "clock" {
			clockRec = &s
		}
	}
	if clockRec == nil || clockRec.Status != "failed" || !clockRec.NotEvidence {
		t.Fatalf("clock's record %+v, want failed and not_evidence", clockRec)
	}

	m := rebuild(t, killed)
	if got := steps(m.Missing); !slices.Equal(got, want) {
		t.Errorf("the rebuilt missing evidence %q, want the finished run's %q", got, want)
	}
	if len(m.Missing) == 1 && m.Missing[0].ByHand != res.Manifest.Missing[0].ByHand {
		t.Errorf("rebuilt by_hand %q, the run's %q", m.Missing[0].ByHand, res.Manifest.Missing[0].ByHand)
	}
}

// lostRecord is a run folder that keeps, as a wait: step's record is
// handed to it (its wait-end already journaled), a copy of itself in
// killed: the folder of a run whose engine was killed between the two,
// which lost that record and nothing else.
type lostRecord struct {
	engine.Folder
	t      *testing.T
	killed string
	kept   bool
}

func (f *lostRecord) Record(e engine.Event) error {
	if e.Type == engine.EvWaitEnded && e.Write != nil && e.Write.Step != nil && !f.kept {
		f.kept = true
		if err := os.CopyFS(f.killed, os.DirFS(f.Dir())); err != nil {
			f.t.Errorf("keeping the killed folder: %v", err) // Errorf: on the engine's goroutine
		}
	}
	return f.Folder.Record(e)
}

// TestCompleteRunFolderLostWait: a real run (replay) is killed after its
// wait: step's wait-end was journaled and before its record was written;
// runbook cleanup rebuilds that record from the journal as the run wrote
// it (start, end, status, note; only its line in the playbook is not in
// the journal), after the records the run wrote, and no other wait.
func TestCompleteRunFolderLostWait(t *testing.T) {
	killed := filepath.Join(t.TempDir(), "killed")
	res, _ := runIt(t, runCfg{opts: func(o *engine.Options) {
		o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &lostRecord{Folder: f, t: t, killed: killed} })
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	var wait engine.StepRecord
	var before []string
	for _, s := range written(t, res).Steps {
		if s.Kind == "wait" {
			wait = s
			break
		}
		before = append(before, s.Kind+" "+s.Command+" => "+s.Status)
	}
	if wait.Start.IsZero() || wait.Status != "ok" {
		t.Fatalf("the run recorded no wait that ended: %+v", wait)
	}
	m := rebuild(t, killed)
	var got []string
	for _, s := range m.Steps[:len(m.Steps)-1] {
		got = append(got, s.Kind+" "+s.Command+" => "+s.Status)
	}
	if !slices.Equal(got, before) {
		t.Errorf("steps before the wait %q, want the run's %q", got, before)
	}
	want := wait
	want.Line = 0
	if last := m.Steps[len(m.Steps)-1]; !reflect.DeepEqual(last, want) {
		t.Errorf("the wait rebuilt from the journal\n%+v\nwant the run's record (but its line)\n%+v", last, want)
	}
}
