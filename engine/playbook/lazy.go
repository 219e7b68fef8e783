package playbook

// This file reads the top-level steps of a long playbook again as a run
// reaches them, as the replay's Open reads a cassette's exchanges (package
// replay, lazy.go): Load checks the whole file, every step decoded and
// compiled as always, but keeps only what a run needs before its steps
// (facts.go) and where each batch of steps is in the file; EachStep then
// decodes each batch from the file again, in order, when the run comes to
// it. A file changed since (its size, its time, or a batch's bytes) fails
// with ErrChanged. Held steps cost about 770 bytes each for as long as the
// playbook is held: a run of 10,000 steps then held 7.7 MB it does not
// need, and the collector's goal doubled it.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrChanged is returned by EachStep (and AllSteps) for a playbook whose
// steps are read again from its file (or an included fragment) when the
// file changed, or could not be read again, since Load checked it.
var ErrChanged = errors.New("playbook changed since it was loaded")

// lazyMin is the number of top-level steps above which Load keeps the
// steps of a streamed playbook in its file rather than in memory: up to
// sixteen batches, the steps held (about 800 KB) are lost in the
// footprint of a run (a run of 1,000 steps peaks no higher than one of
// 10,000 that holds none; docs/benchmarks.md), their second decode is
// saved (a replay of 1,000 steps takes about a quarter less CPU), and the file is
// read once, so a usual playbook edited while it runs (its waits and
// prompts can last an hour) is not refused. A variable for the tests.
var lazyMin = 16 * stepBatch

// lazySteps is where the steps of a playbook are in its file.
type lazySteps struct {
	file string
	// size and mod are what the file was when it was checked.
	size int64
	mod  time.Time
	// batches are the batches of top-level steps, in order.
	batches []lazyBatch
	// frags is the sum of each fragment the steps include.
	frags map[string][sha256.Size]byte
	read  func(string) ([]byte, error)
	join  func(from, rel string) string
	// What the steps' expressions compile against: the params, every
	// capture name, and the step ids any expression reads (every id when
	// one reads the steps as a whole).
	params   []*Param
	captures []string
	ids      []string
	secrets  map[string]bool

	envOnce sync.Once
	env     *compileEnv
}

// lazyBatch is one batch of top-level steps: its bytes [start, end) of
// the file, from line line, items items, the Order of its first step
// minus one, and the sum of its bytes. exprs says it has expressions (the
// check compiles them when it reads the batch again).
type lazyBatch struct {
	start, end int64
	line       int
	items      int
	order      int
	sum        [sha256.Size]byte
	exprs      bool
}

// EachStep calls fn for each top-level step of p, in order, and returns
// the first error fn returns. A playbook that holds its steps (Steps)
// ranges over them; one Load keeps in its file decodes them from it
// again, a batch at a time, holding no more than that batch: each call
// sees new *Step values, equal to those the check decoded. It fails with
// ErrChanged when the file changed since Load.
func (p *Playbook) EachStep(fn func(*Step) error) error {
	if p.lazy == nil {
		for _, s := range p.Steps {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
	return p.lazy.each(fn)
}

// AllSteps returns every top-level step of p: Steps, or all of them read
// from the file again (for the commands that show a whole playbook).
func (p *Playbook) AllSteps() ([]*Step, error) {
	if p.lazy == nil {
		return p.Steps, nil
	}
	var out []*Step
	err := p.lazy.each(func(s *Step) error {
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (lz *lazySteps) changed(why string, args ...any) error {
	return fmt.Errorf("playbook %s: %w (%s)", lz.file, ErrChanged, fmt.Sprintf(why, args...))
}

// batchRead is one batch of steps read again, or why it could not be.
type batchRead struct {
	steps []*Step
	err   error
}

// each calls fn for each step, in order. The next batch is read and
// decoded on a goroutine of its own while fn runs the steps of this one:
// decoding costs about what a step of a replay costs, and a run spends
// its time on one core. It is handed over only once fn is done with the
// batch before, so at most two batches are held.
func (lz *lazySteps) each(fn func(*Step) error) error {
	lz.envOnce.Do(func() { lz.env = newCompileEnv(lz.params, lz.captures, lz.ids, nil) })
	batches := make(chan batchRead)
	done := make(chan struct{})
	defer close(done) // fn failed (or panicked): the reader stops
	go lz.readAll(batches, done)
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		for i, s := range b.steps {
			b.steps[i] = nil // the batch holds no step fn is done with
			if err := fn(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAll reads the batches from the file, checked as Load saw it (size and
// time before each batch, the batch's sum), into out, until the last, an
// error, or done.
func (lz *lazySteps) readAll(out chan<- batchRead, done <-chan struct{}) {
	defer close(out)
	send := func(b batchRead) bool {
		select {
		case out <- b:
			return b.err == nil
		case <-done:
			return false
		}
	}
	f, err := os.Open(lz.file)
	if err != nil {
		send(batchRead{err: lz.changed("%v", err)})
		return
	}
	defer f.Close()
	var buf []byte
	for _, b := range lz.batches {
		fi, err := f.Stat()
		switch {
		case err != nil:
			err = lz.changed("%v", err)
		case fi.Size() != lz.size || !fi.ModTime().Equal(lz.mod):
			err = lz.changed("its size or time differs")
		}
		if err != nil {
			send(batchRead{err: err})
			return
		}
		buf = slices.Grow(buf[:0], int(b.end-b.start))[:b.end-b.start]
		if n, err := f.ReadAt(buf, b.start); n != len(buf) {
			send(batchRead{err: lz.changed("%v", err)})
			return
		}
		steps, err := lz.decode(buf, b, lz.env, nil)
		if !send(batchRead{steps, err}) {
			return
		}
	}
}

// decode decodes batch b, whose bytes are src, and compiles its
// expressions against env, adding what they read to reads (when not nil).
func (lz *lazySteps) decode(src []byte, b lazyBatch, env *compileEnv, reads *stepReads) ([]*Step, error) {
	if sha256.Sum256(src) != b.sum {
		return nil, lz.changed("the steps from line %d differ", b.line)
	}
	// Read as the check read it (readBatch): its items from line 2.
	doc, seq, ok := readBatch(nil, src, b.items)
	return lz.build(doc, seq, ok, b, env, reads)
}

// build makes the steps of batch b from what readBatch returned for its
// bytes, whose sum decode checked: the document doc, its list seq, and
// whether it read (ok).
func (lz *lazySteps) build(doc []byte, seq *yaml.Node, ok bool, b lazyBatch, env *compileEnv, reads *stepReads) ([]*Step, error) {
	var fragErr error
	read := func(name string) ([]byte, error) {
		data, err := lz.read(name)
		if err == nil {
			if sum, ok := lz.frags[name]; !ok || sha256.Sum256(data) != sum {
				err = errors.New("it differs")
			}
		}
		if err != nil && fragErr == nil {
			fragErr = fmt.Errorf("playbook %s: %w (%s: %v)", lz.file, ErrChanged, name, err)
		}
		return data, err
	}
	l := newLoader(read, lz.join)
	l.secrets, l.env = lz.secrets, env
	if !ok {
		return nil, lz.changed("the steps from line %d no longer read", b.line)
	}
	shift := b.line - 2
	l.files = append(l.files, lz.file)
	l.srcs[lz.file] = doc
	l.lineBase = map[string]int{lz.file: shift}
	var steps []*Step
	for j, item := range seq.Content {
		shiftLines(item, shift)
		steps = append(steps, l.step(lz.file, item)...)
		seq.Content[j] = nil
	}
	l.compilePending(reads)
	if fragErr != nil {
		return nil, fragErr
	}
	if len(l.errs) > 0 {
		l.sortErrors()
		return nil, lz.changed("the steps from line %d no longer load: %v", b.line, l.errs[0])
	}
	n := b.order
	Walk(steps, func(s *Step) { n++; s.Order = n })
	return steps, nil
}

// keepLazy makes pb keep its steps in file: the check's second half, each
// batch with expressions read again and compiled against the whole
// playbook's environment (their reads added to pb's), then the facts.
// False when something does not load as it did, for the caller to load
// the file whole.
func (l *loader) keepLazy(file string, st *stepStream, fi os.FileInfo, pb *Playbook) bool {
	lz := &lazySteps{
		file: file, size: fi.Size(), mod: fi.ModTime(), batches: st.batches,
		frags: map[string][sha256.Size]byte{}, read: l.read, join: l.join,
		params: pb.Params, secrets: l.secrets,
	}
	for _, f := range l.files[1:] {
		lz.frags[f] = sha256.Sum256(l.srcs[f])
	}
	// The batches are decoded ahead (ahead.go), as the check decoded
	// them, their bytes checked against the sums the split took.
	var with []lazyBatch
	for _, b := range st.batches {
		if b.exprs {
			with = append(with, b)
		}
	}
	ahead := readAhead(st, with, true)
	defer ahead.stop()
	for _, b := range with {
		if l.env == nil {
			l.env = l.mkEnv()
		}
		d := ahead.next()
		if _, err := lz.build(d.doc, d.seq, d.ok, b, l.env, pb.reads); err != nil {
			return false
		}
	}
	pb.facts = l.done(pb)
	lz.captures = pb.facts.captures
	if pb.reads.all {
		lz.ids = slices.Sorted(maps.Keys(l.stepIDs))
	} else {
		lz.ids = slices.Sorted(maps.Keys(pb.reads.ids))
	}
	pb.lazy = lz
	return true
}
