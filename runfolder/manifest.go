package runfolder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/runbook-dev/runbook/engine"
)

// errStop ends an iteration early; it is not an error.
var errStop = errors.New("stop")

// maxRecord bounds one line of RecordsFile.
const maxRecord = 16 << 20

// records hands each recorded step, as its compact JSON, to fn.
func (f *Folder) records(fn func([]byte) error) error {
	r, err := os.Open(filepath.Join(f.dir, RecordsFile))
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecord)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// eachRecord hands each recorded step to fn, decoded.
func (f *Folder) eachRecord(fn func(engine.StepRecord) error) error {
	err := f.records(func(b []byte) error {
		var rec engine.StepRecord
		if err := unmarshalRecord(b, &rec); err != nil {
			return err
		}
		return fn(rec)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// stepsKey is where the steps go in the indented manifest: a top-level
// key is indented by two spaces, and a string value never holds a raw
// newline, so it occurs once.
var stepsKey = []byte("\n  \"steps\": []")

// writeManifest writes m as manifest.json to path, atomically, byte for
// byte as json.MarshalIndent(m, "", "  ") would with m.Steps set to the
// steps records hands over (each its compact JSON), without holding them.
// It returns the manifest's JSON without its steps ("steps": []).
func writeManifest(path string, m *engine.Manifest, records func(func([]byte) error) error) ([]byte, error) {
	head := *m
	head.Steps = []engine.StepRecord{}
	// json.MarshalIndent is json.Marshal, then json.Indent.
	compact, err := json.Marshal(&head)
	if err != nil {
		return nil, err
	}
	b, err := appendIndent(make([]byte, 0, 2*len(compact)), compact, "", "  ")
	if err != nil {
		return nil, err
	}
	i := bytes.Index(b, stepsKey)
	if i < 0 {
		return nil, errors.New("manifest: no steps key")
	}
	return b, writeAtomic(path, func(w *bufio.Writer) error {
		w.Write(b[:i])
		w.WriteString("\n  \"steps\": [")
		n := 0
		var ind []byte
		err := records(func(rec []byte) error {
			var err error
			if ind, err = appendIndent(ind[:0], rec, "    ", "  "); err != nil {
				return err
			}
			if n > 0 {
				w.WriteByte(',')
			}
			w.WriteString("\n    ")
			_, err = w.Write(ind)
			n++
			return err
		})
		if err != nil {
			return err
		}
		if n > 0 {
			w.WriteString("\n  ")
		}
		w.WriteByte(']')
		w.Write(b[i+len(stepsKey):])
		return w.WriteByte('\n')
	})
}

// writeAtomic writes path (mode 0644) through fill, a synced temporary
// file and a rename, so a reader never sees half a file.
func writeAtomic(path string, fill func(*bufio.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err := fill(w); err != nil {
		return fail(err)
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteAtomic writes path (mode 0644) as fill writes it, through a synced
// temporary file and a rename: a reader never sees half a file, and the
// content is never held whole in memory.
func WriteAtomic(path string, fill func(io.Writer) error) error {
	return writeAtomic(path, func(w *bufio.Writer) error { return fill(w) })
}

// Scan reads the run folder dir's manifest.json as a stream: it hands
// each step to fn, in order, and returns the manifest without its steps
// (Steps nil). Only one step is held at a time. fn returning an error
// stops the scan with it.
func Scan(dir string, fn func(engine.StepRecord) error) (*engine.Manifest, error) {
	r, err := os.Open(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m, err := scan(r, fn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return m, nil
}

// ScanBatches reads the run folder dir's manifest.json as Scan does, but
// hands its steps to fn in batches: batch filled (the last batch may hold
// fewer), then the slice fn returns, which must have room for a record
// (len ignored: it is filled to its cap). fn may reuse a batch it was
// handed once it is done with it, so only len(batch) records (or those of
// the slices in turn) are held; it may keep the records' strings, which
// are made a batch at a time: one kept keeps its batch's. A record that
// cannot be decoded ends the scan with its error, and the records read
// before it in its batch are not handed over.
func ScanBatches(dir string, batch []engine.StepRecord, fn func(batch []engine.StepRecord) (next []engine.StepRecord, err error)) (*engine.Manifest, error) {
	if cap(batch) == 0 {
		return nil, errors.New("runfolder: ScanBatches: no room in the batch")
	}
	r, err := os.Open(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var a arena
	m, err := scanBatches(newLexer(r), batch[:cap(batch)], &a, func(b []engine.StepRecord) ([]engine.StepRecord, error) {
		next, err := fn(b)
		if err == nil && cap(next) == 0 {
			err = errors.New("runfolder: ScanBatches: no room in the next batch")
		}
		return next, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return m, nil
}

// ReadManifest reads the run folder dir's manifest.json, steps included,
// as a stream (the file is never held whole in memory).
func ReadManifest(dir string) (*engine.Manifest, error) {
	steps := []engine.StepRecord{}
	m, err := Scan(dir, func(s engine.StepRecord) error { steps = append(steps, s); return nil })
	if err != nil {
		return nil, err
	}
	m.Steps = steps
	return m, nil
}
