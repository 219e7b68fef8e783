package replay

// This file reads a cassette for a Strict replay one exchange at a time:
// Open checks the whole file as Load does but keeps only its header and
// exports, and the replay reads each exchange from the file again when the
// session comes to it, so a long recording is never held in memory.

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrChanged is returned by a replay of a cassette read by Open whose file
// changed (or could not be read again) after Open checked it.
var ErrChanged = errors.New("cassette changed since it was opened")

// lazyFile is a cassette file Open checked: its exchanges are read again
// by each replay.
type lazyFile struct {
	path string
	// n is the number of exchanges; size and mod what the file was.
	n    int
	size int64
	mod  time.Time
}

// Open reads the cassette file path and refuses it with the same errors as
// Load, but keeps only its header and exports: a Strict replay of it (New)
// reads each exchange from the file again when the session comes to it,
// so its footprint does not grow with the recording; a replay in any other
// Mode reads them all when it starts. Exchanges is nil in the cassette
// returned. A cassette the stream cannot read (stream.go) is held whole,
// as Load holds it.
func Open(path string) (*Cassette, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	s := newStreamer(path, f)
	s.check = true // the exchanges are read again by the replay
	c, n, ok := checkStream(s)
	f.Close()
	if !ok {
		return loadWhole(path)
	}
	c.Path = path
	c.lazy = &lazyFile{path: path, n: n, size: fi.Size(), mod: fi.ModTime()}
	return c, nil
}

// checkStream reads the cassette of s as run does, keeping its header and
// exports but only the number of its exchanges.
func checkStream(s *streamer) (*Cassette, int, bool) {
	c, ok := s.header()
	if !ok {
		return nil, 0, false
	}
	n := 0
	for {
		_, e, more, ok := s.nextItem(n)
		switch {
		case !ok:
			return nil, 0, false
		case !more:
			return c, n, true
		case e != nil:
			c.Exports = append(c.Exports, *e)
		default:
			n++
		}
	}
}

// all reads every exchange of the file.
func (lf *lazyFile) all() ([]Exchange, error) {
	r := &lazyReader{lf: lf, cur: -1}
	defer r.close()
	xs := make([]Exchange, 0, lf.n)
	for i := range lf.n {
		x, err := r.read(i)
		if err != nil {
			return nil, err
		}
		xs = append(xs, *x)
	}
	return xs, nil
}

// lazyReader reads the exchanges of a lazyFile in order, holding the last
// one read (in x, which the next read overwrites).
type lazyReader struct {
	lf *lazyFile
	f  *os.File
	s  *streamer
	// cur is the index of x, -1 before the first.
	cur int
	x   Exchange
	// sh is the shape of x once shaped is set (the replay's matcher makes
	// it).
	sh     shape
	shaped bool
	err    error
}

// read returns exchange i, which must be the one last read or the next.
// The exchange is r's own: valid until the next read.
func (r *lazyReader) read(i int) (*Exchange, error) {
	if i == r.cur {
		return &r.x, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	if i != r.cur+1 || i >= r.lf.n {
		return nil, fmt.Errorf("replay: cassette %s: exchange %d read out of order", r.lf.path, i+1)
	}
	if r.s == nil {
		if err := r.open(); err != nil {
			r.err = fmt.Errorf("replay: %s: %w (%v)", r.lf.path, ErrChanged, err)
			return nil, r.err
		}
	}
	for {
		x, e, more, ok := r.s.nextItem(i)
		if !ok || !more {
			r.close()
			r.err = fmt.Errorf("replay: %s: %w (exchange %d no longer reads)", r.lf.path, ErrChanged, i+1)
			return nil, r.err
		}
		if e != nil {
			continue // Open keeps the exports
		}
		r.cur, r.x, r.shaped = i, x, false
		if i == r.lf.n-1 {
			r.close()
		}
		return &r.x, nil
	}
}

func (r *lazyReader) open() error {
	f, err := os.Open(r.lf.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && (fi.Size() != r.lf.size || !fi.ModTime().Equal(r.lf.mod)) {
		err = errors.New("its size or time differs")
	}
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.s = f, newStreamer(r.lf.path, f)
	if _, ok := r.s.header(); !ok {
		r.close()
		return errors.New("its header no longer reads")
	}
	return nil
}

// close closes the file; the exchange last read stays.
func (r *lazyReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
