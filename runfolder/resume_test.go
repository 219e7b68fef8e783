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

// TestResumedRecords: the records a run killed before its end wrote are
// read one a line; an incomplete last line (the kill cut that write) is
// ignored and said so, a complete last record without its newline is
// kept, and any other line that does not decode is an error. With none,
// the error is fs.ErrNotExist.
func TestResumedRecords(t *testing.T) {
	const (
		r1 = `{"seq":1,"kind":"run","command":"show clock","start":"2026-01-02T03:04:05Z","end":"2026-01-02T03:04:06Z","status":"ok"}`
		r2 = `{"seq":0,"kind":"wait","start":"2026-01-02T03:04:06Z","end":"2026-01-02T03:05:06Z","status":"ok","note":"wait 1m0s"}`
	)
	cases := []struct {
		name, file string
		want       []string // command or note of each record
		torn, err  string
	}{
		{"whole", r1 + "\n" + r2 + "\n", []string{"show clock", "wait 1m0s"}, "", ""},
		{"torn last line", r1 + "\n" + r2 + "\n" + `{"seq":2,"kind":"run","comm`, []string{"show clock", "wait 1m0s"}, "line 3 of .steps.jsonl, 27 bytes", ""},
		{"last record without its newline", r1 + "\n" + r2, []string{"show clock", "wait 1m0s"}, "", ""},
		{"empty", "", nil, "", ""},
		{"bad line in the middle", r1 + "\n" + `{"seq":2,"kind":"run","comm` + "\n" + r2 + "\n", []string{"show clock"}, "", ".steps.jsonl:2: "},
		{"bad last line that ended", r1 + "\n" + `{"seq":2,"kind":"run","comm` + "\n", []string{"show clock"}, "", ".steps.jsonl:2: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, runfolder.RecordsFile), []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []string
			torn, err := runfolder.Open(dir).Records(func(s engine.StepRecord) error {
				got = append(got, s.Command+s.Note)
				return nil
			})
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("error %v, want %q", err, c.err)
			}
			if torn != c.torn {
				t.Errorf("torn %q, want %q", torn, c.torn)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("records %q, want %q", got, c.want)
			}
		})
	}
	if _, err := runfolder.Open(t.TempDir()).Records(func(engine.StepRecord) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Records with none: %v, want fs.ErrNotExist", err)
	}
}

// TestResumedRewriteFromRecords: while the records a killed run wrote are
// there, Rewrite streams them (not the steps of the manifest.json the run
// checkpointed, which they hold too), a torn last one left out, then
// m.Steps; and once manifest.json and summary.md are written it removes
// the records and the summary rows.
func TestResumedRewriteFromRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "run")
	f, err := runfolder.Create(engine.FolderSpec{Dir: dir, Start: t0, Playbook: "basic", Target: "fw1"})
	if err != nil {
		t.Fatal(err)
	}
	base := engine.Manifest{Version: 1, Playbook: engine.ManifestPlaybook{Name: "basic"}, Target: engine.ManifestTarget{Name: "fw1", Transport: "ssh"},
		Started: t0, Status: "running", Undo: []engine.CleanupRecord{}, Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}}
	recs := []engine.StepRecord{
		{Seq: 1, ID: "clock", Kind: "run", Command: "show clock", Transport: "ssh", Start: t0, End: t0.Add(time.Second), Status: "ok"},
		{Kind: "note", Start: t0, End: t0, Status: "ok", Note: "a note"},
		{Seq: 2, Kind: "run", Command: "debug ike pcap on", Transport: "ssh", Start: t0, End: t0, Status: "ok"},
	}
	record(t, f, recs[0])
	if err := f.Record(engine.Event{Type: engine.EvRunStarted, Write: &engine.FolderWrite{Manifest: &base}}); err != nil { // manifest.json holds step 1
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		record(t, f, r)
	}
	w, err := os.OpenFile(filepath.Join(dir, runfolder.RecordsFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(`{"seq":3,"kind":"run","comm`)
	w.Close()
	rebuilt := engine.StepRecord{Seq: 3, Kind: "run", Command: "show vpn flow", Start: t0, Status: "interrupted"}
	m := base
	m.Status, m.ExitCode, m.Steps = "interrupted", 130, []engine.StepRecord{rebuilt}
	rf := runfolder.Open(dir)
	if err := rf.Rewrite(&m); err != nil {
		t.Fatal(err)
	}
	whole := m
	whole.Steps = append(append([]engine.StepRecord{}, recs...), rebuilt)
	want, _ := json.MarshalIndent(&whole, "", "  ")
	got, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(want, '\n')) {
		t.Errorf("manifest.json\n%s\nwant\n%s", got, want)
	}
	var sum strings.Builder
	if err := runfolder.WriteSummary(&sum, dir, &m, false, slices.Values(whole.Steps)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "summary.md")); string(b) != sum.String() {
		t.Errorf("summary.md\n%s\nwant\n%s", b, sum.String())
	}
	for _, name := range []string{runfolder.RecordsFile, ".summary-rows"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	// Again, the records gone: the steps come from manifest.json.
	m.Steps = nil
	if err := rf.Rewrite(&m); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); !bytes.Equal(again, got) {
		t.Errorf("a second Rewrite changed manifest.json:\n%s", again)
	}
}
