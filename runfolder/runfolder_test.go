package runfolder_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
)

// TestManifestStreamedAsMarshalled: manifest.json assembled from the
// streamed step records is byte for byte what json.MarshalIndent of the
// whole manifest gives, and Scan and ReadManifest read it back as it was,
// with zero, one and several steps, and strings JSON escapes.
func TestManifestStreamedAsMarshalled(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 2, 33, 123456789, time.UTC)
	form := 1
	all := []engine.StepRecord{
		{Seq: 1, ID: "s1", Kind: "run", Line: 4, Command: `show "a" <b> & c`, Transport: "ssh", Start: t0, End: t0.Add(time.Second), Status: "ok", Output: "steps/001-s1.txt", SHA256: "ab"},
		{Kind: "note", Start: t0, End: t0, Status: "ok", Note: "line\nnext \u00e9 \\ \"steps\": []"},
		{Seq: 2, ID: "s2", Kind: "run", Command: "x", Start: t0, End: t0, Status: "failed", Error: "e", AcceptedForm: &form,
			Refused: []engine.RefusedForm{{Form: 0, Command: "y", Error: "no"}}, Run: 2, Item: "tun"},
	}
	for n := 0; n <= len(all); n++ {
		dir := filepath.Join(t.TempDir(), "run")
		f, err := runfolder.Create(engine.FolderSpec{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m := &engine.Manifest{Version: 1, Params: map[string]any{"steps": `"steps": []`}, Target: engine.ManifestTarget{Name: "fw1"},
			Started: t0, Status: "ok", Undo: []engine.CleanupRecord{}, Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{},
			Artifacts: []engine.ArtifactRecord{}, Notes: []string{"n"}}
		for _, s := range all[:n] {
			record(t, f, s)
		}
		end(t, f, m)
		whole := *m
		whole.Steps = append([]engine.StepRecord{}, all[:n]...)
		want, _ := json.MarshalIndent(&whole, "", "  ")
		want = append(want, '\n')
		got, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d steps: manifest.json\n%s\nwant\n%s", n, got, want)
		}
		back, err := f.Written()
		if err != nil {
			t.Fatal(err)
		}
		var direct engine.Manifest
		if err := json.Unmarshal(want, &direct); err != nil {
			t.Fatal(err)
		}
		direct.Steps = nil // Written leaves the steps on disk
		if !reflect.DeepEqual(back, &direct) {
			t.Errorf("%d steps: read back %+v\nwant %+v", n, back, &direct)
		}
		if _, err := os.Stat(filepath.Join(dir, runfolder.RecordsFile)); !os.IsNotExist(err) {
			t.Errorf("%d steps: %s still there after End (%v)", n, runfolder.RecordsFile, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "summary.md")); err != nil {
			t.Errorf("%d steps: %v", n, err)
		}
	}
}

// record hands the folder rec as the engine does, with the step's event.
func record(t *testing.T, f engine.Folder, rec engine.StepRecord) {
	t.Helper()
	if err := f.Record(engine.Event{Type: engine.EvStepEnded, Seq: rec.Seq, Write: &engine.FolderWrite{Step: &rec}}); err != nil {
		t.Fatal(err)
	}
}

// end hands the folder the finished record m, with run-ended.
func end(t *testing.T, f engine.Folder, m *engine.Manifest) {
	t.Helper()
	if err := f.Record(engine.Event{Type: engine.EvRunEnded, Write: &engine.FolderWrite{Manifest: m}}); err != nil {
		t.Fatal(err)
	}
}

// TestCreateNamesAndNeverShares: a folder is named from the start, the
// playbook and the target, and a second run in the same second gets -2.
func TestCreateNamesAndNeverShares(t *testing.T) {
	out := t.TempDir()
	spec := engine.FolderSpec{OutDir: out, Start: time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC), Playbook: "phase2-down", Target: "fw 1/a"}
	var dirs []string
	for range 2 {
		f, err := runfolder.Create(spec)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Base(f.Dir()))
	}
	want := []string{"20261127T100233Z-phase2-down-fw-1-a", "20261127T100233Z-phase2-down-fw-1-a-2"}
	if !reflect.DeepEqual(dirs, want) {
		t.Errorf("folders %v, want %v", dirs, want)
	}
}

// TestSummaryAsFromTheManifest: the summary.md End writes (its rows made
// as each step was recorded) is the one WriteSummary gives from the steps
// as manifest.json holds them: with one transport, several (the via
// column), a start time in another zone, and a string JSON changes
// (invalid UTF-8); no file of the run is left but the run folder's.
func TestSummaryAsFromTheManifest(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 2, 33, 123456789, time.FixedZone("X", 5*3600+1800))
	one := []engine.StepRecord{
		{Seq: 1, ID: "s1", Kind: "run", Command: "show a | b", Transport: "ssh", Start: t0, End: t0, Status: "ok", Output: "steps/001-s1.txt"},
		{Kind: "note", Start: t0.Add(time.Hour), End: t0, Status: "ok", Note: "line\nnext \u00e9"},
		{Seq: 2, ID: "s2", Kind: "run", Command: "x", Start: t0, Status: "skipped", Note: "when: false", Run: 2, Item: "tun|1"},
	}
	several := append(slices.Clone(one), engine.StepRecord{Seq: 3, ID: "s3", Kind: "run", Command: "y", Transport: "xmlapi", Start: t0, Status: "ok"})
	invalid := append(slices.Clone(one), engine.StepRecord{Seq: 3, ID: "s3", Kind: "run", Command: "bad \xff\xfe byte", Transport: "ssh", Start: t0, Status: "failed"})
	for name, steps := range map[string][]engine.StepRecord{"one transport": one, "several": several, "invalid utf-8": invalid, "none": nil} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			f, err := runfolder.Create(engine.FolderSpec{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			m := &engine.Manifest{Version: 1, Playbook: engine.ManifestPlaybook{Name: "p", Title: "t"}, Target: engine.ManifestTarget{Name: "fw1", Transport: "ssh"},
				Started: t0, Ended: t0, Status: "ok", Undo: []engine.CleanupRecord{{Command: "debug off", Status: "ok", Transport: "xmlapi"}},
				Cleanup: []engine.CleanupRecord{}, Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}}
			for _, s := range steps {
				record(t, f, s)
			}
			end(t, f, m)
			got, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			back, err := runfolder.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			var transports []string
			for _, s := range back.Steps {
				if s.Transport != "" && !slices.Contains(transports, s.Transport) {
					transports = append(transports, s.Transport)
				}
			}
			var want bytes.Buffer
			if err := runfolder.WriteSummary(&want, dir, m, len(transports) > 1, slices.Values(back.Steps)); err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Errorf("summary.md\n%s\nwant\n%s", got, want.String())
			}
			if name == "several" && !bytes.Contains(got, []byte("| via |")) {
				t.Error("no via column")
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestRecordWritesOutputThenStep: an event carrying an output and a step
// record writes the file, then the record naming it with the file's
// sha256; an output that cannot be written is an *engine.OutputError and
// the step is recorded without it; an event carrying nothing writes
// nothing.
func TestRecordWritesOutputThenStep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	f, err := runfolder.Create(engine.FolderSpec{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Record(engine.Event{Type: engine.EvStepStarted, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	ok := engine.StepRecord{Seq: 1, Kind: "run", Command: "show clock", Status: "ok"}
	if err := f.Record(engine.Event{Type: engine.EvStepEnded, Seq: 1,
		Write: &engine.FolderWrite{File: "steps/001-clock.txt", Output: []byte("10:02\n"), Step: &ok}}); err != nil {
		t.Fatal(err)
	}
	if ok.Output != "" || ok.SHA256 != "" {
		t.Errorf("the folder changed the engine's record: %+v", ok)
	}
	lost := engine.StepRecord{Seq: 2, Kind: "run", Command: "show x", Status: "ok"}
	err = f.Record(engine.Event{Type: engine.EvStepEnded, Seq: 2,
		Write: &engine.FolderWrite{File: "nowhere/002-x.txt", Output: []byte("x"), Step: &lost}})
	var oe *engine.OutputError
	if !errors.As(err, &oe) || oe.File != "nowhere/002-x.txt" || !strings.HasPrefix(err.Error(), "could not write nowhere/002-x.txt: ") {
		t.Fatalf("unwritable output: %v, want an OutputError", err)
	}
	end(t, f, &engine.Manifest{Version: 1, Status: "ok", Undo: []engine.CleanupRecord{}, Cleanup: []engine.CleanupRecord{},
		Findings: []engine.FindingRecord{}, Artifacts: []engine.ArtifactRecord{}})
	m, err := runfolder.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Steps) != 2 || m.Steps[0].Output != "steps/001-clock.txt" || m.Steps[0].SHA256 != sha("10:02\n") ||
		m.Steps[1].Output != "" || m.Steps[1].SHA256 != "" {
		t.Errorf("steps %+v", m.Steps)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "steps", "001-clock.txt")); err != nil || string(b) != "10:02\n" {
		t.Errorf("steps/001-clock.txt: %q, %v", b, err)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
