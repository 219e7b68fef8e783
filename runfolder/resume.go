package runfolder

import (
	"bufio"
	"bytes"
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

var (
	_ engine.ResumedFolder = (*Resumed)(nil)
)

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

// Records hands fn each step record a run killed before its end wrote
// to RecordsFile, in order, decoded one at a time. torn, when not "",
// says that its last line was incomplete (the kill cut that write) and
// was ignored; any other line that does not decode is an error. The
// error wraps fs.ErrNotExist when there is no RecordsFile (the run
// ended, or was written before runs streamed their records).
func (r *Resumed) Records(fn func(engine.StepRecord) error) (torn string, err error) {
	return eachRecordLine(filepath.Join(r.dir, RecordsFile), fn)
}

// eachRecordLine reads the step records of the file path, one a line,
// as Records tells.
func eachRecordLine(path string, fn func(engine.StepRecord) error) (torn string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// ended says whether the line just scanned ended with a newline:
	// only the last line of the file may not.
	ended := true
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecord)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		ended = !(atEOF && tok != nil && bytes.IndexByte(data, '\n') < 0)
		return adv, tok, err
	})
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var rec engine.StepRecord
		if err := unmarshalRecord(line, &rec); err != nil {
			if !ended {
				return fmt.Sprintf("line %d of %s, %d bytes", n, RecordsFile, len(line)), nil
			}
			return "", fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if err := fn(rec); err != nil {
			return "", err
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return "", nil
}

// ReadOutput reads up to limit bytes of rel, a file of the folder
// (steps/..., artifacts/...), and returns them with the file's size.
func (r *Resumed) ReadOutput(rel string, limit int) ([]byte, int64, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, 0, fmt.Errorf("%s: not a file of the run folder", rel)
	}
	f, err := os.Open(filepath.Join(r.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max(limit, 0))))
	if err != nil {
		return nil, 0, err
	}
	return b, st.Size(), nil
}

// Rewrite writes manifest.json from m, its steps streamed across and
// m.Steps after them, then summary.md, its timeline streamed from the
// manifest just written, and removes what a run killed before its end
// left behind (RecordsFile, the summary rows, the artifacts/.partial-*
// file of a download it cut short). The steps streamed across
// are the run's records (RecordsFile) when it left them: they hold
// every step it recorded, those of a manifest.json it checkpointed too;
// else those manifest.json holds.
func (r *Resumed) Rewrite(m *engine.Manifest) error {
	var transports []string
	note := func(s engine.StepRecord) {
		if s.Transport != "" && !slices.Contains(transports, s.Transport) {
			transports = append(transports, s.Transport)
		}
	}
	_, err := os.Stat(filepath.Join(r.dir, RecordsFile))
	fromRecords := err == nil
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
		if fromRecords {
			if _, err := eachRecordLine(filepath.Join(r.dir, RecordsFile), each); err != nil {
				return err
			}
		} else if _, err := Scan(r.dir, each); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
	// What a run killed before its end left behind: manifest.json and
	// summary.md have it now.
	for _, name := range []string{RecordsFile, rowsFile} {
		if err := os.Remove(filepath.Join(r.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// And the partial file of a download the kill cut short (Artifact):
	// never the evidence, which the manifest lists as missing.
	partial, _ := filepath.Glob(filepath.Join(r.dir, "artifacts", ".partial-*"))
	for _, p := range partial {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
