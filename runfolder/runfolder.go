package runfolder

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/timetext"
)

// RecordsFile holds, while a run runs, one JSON step record per line, in
// order; manifest.json is assembled from it when the run ends, and it is
// removed then. A run killed before its end leaves it behind.
const RecordsFile = ".steps.jsonl"

// rowsFile holds, while a run runs, summary.md's timeline rows so far,
// written as each step is recorded: the end of the run copies them into
// summary.md rather than decoding every record again, and removes it. A
// run killed before its end leaves it behind (Resumed.Rewrite removes it).
const rowsFile = ".summary-rows"

// Options sets up the folders Create makes.
type Options struct {
	// Render, when set, is called with the folder once manifest.json and
	// summary.md are written (report.WriteDir writes report.html).
	Render func(dir string) error
}

// Create makes the run folder spec names, as engine.Options.Folder: spec.Dir
// when set, else OutDir/<start>-<playbook>-<target>.
func Create(spec engine.FolderSpec) (engine.Folder, error) { return Options{}.Create(spec) }

// Maker returns Create with these options, for engine.Options.Folder.
func (o Options) Maker() func(engine.FolderSpec) (engine.Folder, error) { return o.Create }

// Create makes the run folder spec names (see the package Create).
func (o Options) Create(spec engine.FolderSpec) (engine.Folder, error) {
	dir := spec.Dir
	if dir == "" {
		var err error
		base := filepath.Join(spec.OutDir, fmt.Sprintf("%s-%s-%s", spec.Start.Format("20060102T150405Z"), spec.Playbook, engine.SafeName(spec.Target)))
		if dir, err = NewDir(base); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "steps"), filepath.Join(dir, "artifacts")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	rec, err := os.OpenFile(filepath.Join(dir, RecordsFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	rows, err := os.OpenFile(filepath.Join(dir, rowsFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		rec.Close()
		return nil, err
	}
	return &Folder{dir: dir, at: openDir(dir), o: o, rec: rec, rows: rows, rowsW: bufio.NewWriterSize(rows, 32<<10)}, nil
}

// NewDir creates base, or base-2, base-3, ... when a run (or a case) of
// the same playbook against the same target started in the same second:
// two runs never share a folder.
func NewDir(base string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", err
	}
	dir := base
	for n := 2; ; n++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) || n > 1000 {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, n)
	}
}

// Folder is one run folder being written (engine.Folder): an observer of
// the run's events that can fail, which writes what each carries
// (Record).
type Folder struct {
	dir string
	// at holds dir open for the output files until the run ends.
	at dirFD
	o  Options
	// rec is RecordsFile, open for appending; nil once the run ended.
	rec *os.File
	// n counts the records; transports lists those the steps went over,
	// in order of first use (summary.md names each row's when several).
	n          int
	transports []string
	buf        []byte
	stamp      timetext.Last // the last time a record held
	// head is manifest.json as end wrote it, without its steps.
	head []byte
	// rows is rowsFile, written through rowsW; rowsBad says a row in it
	// may not be the one of the record as decoded (a string JSON would
	// change), so end decodes the records instead.
	rows    *os.File
	rowsW   *bufio.Writer
	rowsBad bool
}

var _ engine.Folder = (*Folder)(nil)

// Dir is the folder.
func (f *Folder) Dir() string { return f.dir }

// Record writes what e carries (engine.FolderWrite), before the engine
// hands e to any other observer: on run-started the manifest so far
// (checkpoint), on run-ended the finished record (end); on any event an
// output file, then a step record naming it (step). An event that
// carries nothing writes nothing. An output that cannot be written is an
// *engine.OutputError, and the step is recorded without it.
func (f *Folder) Record(e engine.Event) error {
	w := e.Write
	if w == nil {
		return nil
	}
	var errs []error
	var rec engine.StepRecord
	if w.Step != nil {
		rec = *w.Step
	}
	if w.File != "" {
		sum, err := f.output(w.File, w.Output)
		if err != nil {
			errs = append(errs, &engine.OutputError{File: w.File, Err: err})
		} else if w.Step != nil {
			rec.Output, rec.SHA256 = w.File, sum
		}
	}
	if w.Step != nil {
		if err := f.step(rec); err != nil {
			errs = append(errs, err)
		}
	}
	if w.Manifest != nil {
		switch e.Type {
		case engine.EvRunStarted:
			errs = append(errs, f.checkpoint(w.Manifest))
		case engine.EvRunEnded:
			errs = append(errs, f.end(w.Manifest))
		}
	}
	return errors.Join(errs...)
}

// output writes b as rel and returns its sha256.
func (f *Folder) output(rel string, b []byte) (string, error) {
	if err := f.at.writeFile(f.dir, rel, b, 0o644); err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	var x [2 * sha256.Size]byte
	hex.Encode(x[:], h[:])
	return string(x[:]), nil
}

// step appends rec to RecordsFile: written (not synced) when it returns,
// so a killed engine loses none.
func (f *Folder) step(rec engine.StepRecord) error {
	if f.rec == nil {
		return errors.New("run folder: the run already ended")
	}
	b, plain, err := appendRecord(f.buf[:0], rec, &f.stamp)
	if err != nil {
		return err
	}
	f.buf = b
	if _, err := f.rec.Write(append(b, '\n')); err != nil {
		return err
	}
	f.n++
	if rec.Transport != "" && !slices.Contains(f.transports, rec.Transport) {
		f.transports = append(f.transports, rec.Transport)
	}
	// A plain record's strings are ASCII.
	if !f.rowsBad && (plain || validUTF8(rec.ID, rec.Item, rec.Command, rec.Note, rec.Status, rec.Output, rec.Transport)) {
		summaryRow(f.rowsW, rec, false)
	} else {
		f.rowsBad = true
	}
	return nil
}

// validUTF8 reports whether every s is valid UTF-8: JSON keeps it as it
// is (it replaces invalid bytes).
func validUTF8(s ...string) bool {
	for _, x := range s {
		if !utf8.ValidString(x) {
			return false
		}
	}
	return true
}

// closeRows closes rowsFile and reports whether it holds every row, each
// as summary.md shows it without the via column.
func (f *Folder) closeRows() bool {
	if f.rows == nil {
		return false
	}
	ok := f.rowsW.Flush() == nil && !f.rowsBad
	if f.rows.Close() != nil {
		ok = false
	}
	f.rows = nil
	return ok
}

// checkpoint writes manifest.json of the run so far: m with the steps
// recorded until now.
func (f *Folder) checkpoint(m *engine.Manifest) error {
	_, err := writeManifest(filepath.Join(f.dir, "manifest.json"), m, f.records)
	return err
}

// end writes manifest.json with every recorded step, summary.md, then
// calls Options.Render, and removes RecordsFile.
func (f *Folder) end(m *engine.Manifest) error {
	if f.rec == nil {
		return errors.New("run folder: the run already ended")
	}
	err := f.rec.Close()
	f.rec = nil
	f.at.close()
	rowsOK := f.closeRows()
	if err != nil {
		return err
	}
	head, err := writeManifest(filepath.Join(f.dir, "manifest.json"), m, f.records)
	if err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	f.head = head
	via := len(f.transports) > 1
	if rowsOK && !via {
		err = writeSummaryRows(f.dir, m, filepath.Join(f.dir, rowsFile))
	} else {
		err = writeSummary(f.dir, m, via, f.eachRecord)
	}
	if err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	if err := os.Remove(filepath.Join(f.dir, RecordsFile)); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(f.dir, rowsFile)); err != nil {
		return err
	}
	if f.o.Render != nil {
		return f.o.Render(f.dir)
	}
	return nil
}

// writeSummary writes summary.md of the folder dir from m, its timeline
// streamed from each (via: the steps went over several transports).
func writeSummary(dir string, m *engine.Manifest, via bool, each func(func(engine.StepRecord) error) error) error {
	var rerr error
	steps := func(yield func(engine.StepRecord) bool) {
		rerr = each(func(rec engine.StepRecord) error {
			if !yield(rec) {
				return errStop
			}
			return nil
		})
		if errors.Is(rerr, errStop) {
			rerr = nil
		}
	}
	return writeAtomic(filepath.Join(dir, "summary.md"), func(w *bufio.Writer) error {
		if err := WriteSummary(w, dir, m, via, steps); err != nil {
			return err
		}
		return rerr
	})
}

// writeSummaryRows writes summary.md of the folder dir from m, its
// timeline's rows (without the via column) copied from the file rows.
func writeSummaryRows(dir string, m *engine.Manifest, rows string) error {
	r, err := os.Open(rows)
	if err != nil {
		return err
	}
	defer r.Close()
	return writeAtomic(filepath.Join(dir, "summary.md"), func(w *bufio.Writer) error {
		summaryHead(w, m, false)
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		summaryTail(w, dir, m, false)
		return nil
	})
}

// Written is manifest.json as the end of the run wrote it, decoded,
// without its steps (Steps nil: Scan reads them from the folder), so what
// it costs does not grow with the run. Before the end, or when it failed,
// it reads manifest.json back, skipping the steps.
func (f *Folder) Written() (*engine.Manifest, error) {
	if f.head == nil {
		return Scan(f.dir, func(engine.StepRecord) error { return nil })
	}
	var m engine.Manifest
	if err := json.Unmarshal(f.head, &m); err != nil {
		return nil, err
	}
	m.Steps = nil
	return &m, nil
}

// Discard removes the folder.
func (f *Folder) Discard() error {
	if f.rec != nil {
		f.rec.Close()
		f.rec = nil
	}
	f.at.close()
	f.closeRows()
	return os.RemoveAll(f.dir)
}

// Artifact opens a partial file in artifacts/.
func (f *Folder) Artifact() (engine.Artifact, error) {
	tmp, err := os.CreateTemp(filepath.Join(f.dir, "artifacts"), ".partial-*")
	if err != nil {
		return nil, err
	}
	return &artifact{File: tmp, dir: f.dir}, nil
}

type artifact struct {
	*os.File
	dir string
}

func (a *artifact) Keep(name string) (string, error) {
	rel := "artifacts/" + name
	if err := os.Rename(a.Name(), filepath.Join(a.dir, filepath.FromSlash(rel))); err != nil {
		return "", err
	}
	return rel, nil
}

func (a *artifact) Remove() { os.Remove(a.Name()) }
