package runfolder_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
)

// TestResumedRewrite: Rewrite writes manifest.json byte for byte as
// json.MarshalIndent of the whole manifest gives (the steps already in
// manifest.json, then the manifest's own), and summary.md as
// WriteSummary gives from all of them, the "via" column when the
// steps went over several transports; with no manifest.json yet, and on
// one written before.
func TestResumedRewrite(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before := []engine.StepRecord{
		{Seq: 1, ID: "clock", Kind: "run", Command: "show clock", Transport: "ssh", Start: t0, End: t0.Add(time.Second), Status: "ok", Output: "steps/001-clock.txt", SHA256: "ab"},
		{Kind: "note", Start: t0, End: t0, Status: "ok", Note: `a "note" | with a pipe`},
	}
	rebuilt := []engine.StepRecord{
		{Seq: 2, ID: "sa", Kind: "run", Command: "show vpn ike-sa", Transport: "xmlapi", Start: t0.Add(2 * time.Second), Status: "interrupted"},
	}
	cases := []struct {
		name          string
		before, given []engine.StepRecord
	}{
		{"no manifest yet", nil, rebuilt},
		{"no manifest, no step", nil, nil},
		{"steps on disk only", before, nil},
		{"steps on disk then rebuilt", before, rebuilt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rf := runfolder.Open(dir)
			if rf.Dir() != dir {
				t.Errorf("Dir %q, want %q", rf.Dir(), dir)
			}
			base := engine.Manifest{Version: 1, Playbook: engine.ManifestPlaybook{Name: "basic"}, Params: map[string]any{"tunnel": "sap"},
				Target: engine.ManifestTarget{Name: "fw1", Transport: "ssh"}, Started: t0, Status: "running",
				Undo: []engine.CleanupRecord{}, Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}}
			if c.before != nil {
				old := base
				old.Steps = c.before
				b, _ := json.MarshalIndent(&old, "", "  ")
				if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
				head, err := rf.Manifest()
				if err != nil {
					t.Fatal(err)
				}
				if head.Steps != nil || head.Target.Name != "fw1" || head.Status != "running" {
					t.Errorf("Manifest: steps %v, target %q, status %q; want nil, fw1, running", head.Steps, head.Target.Name, head.Status)
				}
			} else if _, err := rf.Manifest(); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Manifest with none written: %v, want fs.ErrNotExist", err)
			}
			m := base
			m.Status, m.ExitCode, m.Ended = "interrupted", 130, t0.Add(time.Minute)
			m.CleanupPending = []string{"debug ike pcap off"}
			m.Steps = c.given
			if err := rf.Rewrite(&m); err != nil {
				t.Fatal(err)
			}

			whole := m
			whole.Steps = append(append([]engine.StepRecord{}, c.before...), c.given...)
			want, _ := json.MarshalIndent(&whole, "", "  ")
			want = append(want, '\n')
			got, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("manifest.json\n%s\nwant\n%s", got, want)
			}
			var transports []string
			for _, s := range whole.Steps {
				if s.Transport != "" && !slices.Contains(transports, s.Transport) {
					transports = append(transports, s.Transport)
				}
			}
			var sum strings.Builder
			if err := runfolder.WriteSummary(&sum, dir, &m, len(transports) > 1, slices.Values(whole.Steps)); err != nil {
				t.Fatal(err)
			}
			gotSum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			if string(gotSum) != sum.String() {
				t.Errorf("summary.md\n%s\nwant\n%s", gotSum, sum.String())
			}
			if via := strings.Contains(string(gotSum), "| via |"); via != (len(c.before) > 0 && len(c.given) > 0) {
				t.Errorf("summary.md names the transport of each step: %v, want %v", via, !via)
			}
		})
	}
}

// TestResumedStepOutput: the output of a step is found by its seq and
// hashed; a step with none, or with two candidates, has none.
func TestResumedStepOutput(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := []byte("Fri Nov 27 10:02:34 PST 2026\n")
	for _, name := range []string{"001-clock.txt", "003-a.txt", "003-b.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "steps", name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.Sum256(body)
	rf := runfolder.Open(dir)
	if rel, sum := rf.StepOutput(1); rel != "steps/001-clock.txt" || sum != hex.EncodeToString(h[:]) {
		t.Errorf("StepOutput(1) = %q, %q; want steps/001-clock.txt, %x", rel, sum, h)
	}
	for _, seq := range []int{2, 3} {
		if rel, sum := rf.StepOutput(seq); rel != "" || sum != "" {
			t.Errorf("StepOutput(%d) = %q, %q; want none", seq, rel, sum)
		}
	}
}
