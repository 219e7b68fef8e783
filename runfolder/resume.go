package runfolder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/runbook-dev/runbook/engine"
)

// Resumed is the folder of a run that ended, or whose engine was killed,
// as `runbook cleanup` completes it (engine.ResumedFolder): it reads
// manifest.json back and rewrites it and summary.md, streaming the steps.
type Resumed struct{ dir string }

var _ engine.ResumedFolder = (*Resumed)(nil)

// Open names the run folder dir for engine.FinishCleanup and
// engine.CompleteRunFolder. It reads nothing yet: a folder that is not a
// run's is reported by the engine (engine.ErrNotRunFolder).
func Open(dir string) *Resumed { return &Resumed{dir: dir} }

// Dir is the folder.
func (r *Resumed) Dir() string { return r.dir }

// Manifest reads manifest.json without its steps (Scan).
func (r *Resumed) Manifest() (*engine.Manifest, error) {
	return Scan(r.dir, func(engine.StepRecord) error { return nil })
}

// StepOutput finds steps/NNN-*.txt, the output of step seq, and hashes
// it as it reads it.
func (r *Resumed) StepOutput(seq int) (rel, sum string) {
	matches, _ := filepath.Glob(filepath.Join(r.dir, "steps", fmt.Sprintf("%03d-*.txt", seq)))
	if len(matches) != 1 {
		return "", ""
	}
	rel = filepath.ToSlash(filepath.Join("steps", filepath.Base(matches[0])))
	f, err := os.Open(matches[0])
	if err != nil {
		return rel, ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return rel, ""
	}
	return rel, hex.EncodeToString(h.Sum(nil))
}

// Rewrite writes manifest.json from m, the steps already in it streamed
// across and m.Steps after them, then summary.md, its timeline streamed
// from the manifest just written, and removes the summary rows a run
// killed before its end left behind.
func (r *Resumed) Rewrite(m *engine.Manifest) error {
	var transports []string
	note := func(s engine.StepRecord) {
		if s.Transport != "" && !slices.Contains(transports, s.Transport) {
			transports = append(transports, s.Transport)
		}
	}
	var buf []byte
	records := func(fn func([]byte) error) error {
		each := func(s engine.StepRecord) error {
			note(s)
			b, err := appendJSON(buf[:0], s)
			if err != nil {
				return err
			}
			buf = b
			return fn(b)
		}
		if _, err := Scan(r.dir, each); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, s := range m.Steps {
			if err := each(s); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := writeManifest(filepath.Join(r.dir, "manifest.json"), m, records); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	steps := func(fn func(engine.StepRecord) error) error {
		_, err := Scan(r.dir, fn)
		return err
	}
	if err := writeSummary(r.dir, m, len(transports) > 1, steps); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	// The rows a run killed before its end left behind: summary.md has
	// them now.
	if err := os.Remove(filepath.Join(r.dir, rowsFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
