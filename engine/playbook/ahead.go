package playbook

// This file decodes the YAML of the batches of top-level steps the check
// comes to next while it checks the one before: readBatch depends on
// nothing but its bytes, and its decode is most of what checking a step
// costs, while what follows it (l.step, the loader's state) stays on the
// calling goroutine, a batch at a time, in order, as it was.

import (
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// maxAhead is the most goroutines that decode batches ahead of the check,
// each holding at most two batches it decoded (one handed over, one
// waiting to be): a few, so a long playbook holds a bounded number of
// YAML trees however many cores there are.
const maxAhead = 4

// aheadWorkers returns how many goroutines decode ahead: one per core up
// to maxAhead, none with one core, where they would only take turns with
// the check (the batches are then decoded on the calling goroutine, as
// they were before). A variable for the tests.
var aheadWorkers = func() int {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		return 0
	}
	return min(n, maxAhead)
}

// batchDecoded is what readBatch returned for a batch: its document
// (with keep), its list, and the line of each item as the split saw it
// start (itemLines); ok false when its bytes could not be read as the
// split saw them, or did not read.
type batchDecoded struct {
	doc   []byte
	seq   *yaml.Node
	lines []int
	ok    bool
}

// batchAhead hands the batches of jobs decoded (readBatch) from st, in order,
// decoding those to come on goroutines of its own. Batch i is decoded by
// worker i mod len(outs), which sends it on its own channel: the order is
// kept without a lock, and each worker is at most two batches ahead.
type batchAhead struct {
	st   *stepStream
	jobs []lazyBatch
	// keep: each batch's document in a buffer of its own, for the caller
	// to keep (else each worker reuses one).
	keep bool
	at   int
	// buf and chunk are the calling goroutine's, with no worker.
	buf, chunk []byte
	outs       []chan batchDecoded
	done       chan struct{}
	wg         sync.WaitGroup
}

// readAhead starts decoding jobs. The caller calls next once per job, in
// order, and no further after a batch that did not read (ok false), then
// stop, always (a deferred call): stop returns once every goroutine it
// started has.
func readAhead(st *stepStream, jobs []lazyBatch, keep bool) *batchAhead {
	a := &batchAhead{st: st, jobs: jobs, keep: keep}
	w := min(aheadWorkers(), len(jobs))
	if len(jobs) < 2 || w < 1 {
		return a // nothing to overlap: decoded when asked for
	}
	a.done = make(chan struct{})
	a.outs = make([]chan batchDecoded, w)
	for i := range a.outs {
		a.outs[i] = make(chan batchDecoded, 1)
		a.wg.Add(1)
		go a.work(i)
	}
	return a
}

// work decodes batches i, i+len(outs), ... and sends each on outs[i],
// until the last, one that does not read, or stop.
func (a *batchAhead) work(i int) {
	defer a.wg.Done()
	out := a.outs[i]
	var buf, chunk []byte
	for j := i; j < len(a.jobs); j += len(a.outs) {
		select {
		case <-a.done:
			return
		default:
		}
		d := a.decode(&buf, &chunk, a.jobs[j])
		select {
		case out <- d:
		case <-a.done:
			return
		}
		if !d.ok {
			return // the caller reads no further
		}
	}
}

// decode reads batch b's bytes (in *chunk, reused, when they are read
// from the file) and decodes them, in *buf (reused unless keep).
func (a *batchAhead) decode(buf, chunk *[]byte, b lazyBatch) batchDecoded {
	if a.keep {
		*buf = nil
	}
	var d batchDecoded
	c, ok := a.st.chunk(b, *chunk)
	if a.st.file != nil {
		*chunk = c
	}
	if !ok {
		return d
	}
	*buf, d.seq, d.ok = readBatch(*buf, c, b.items)
	if d.ok {
		d.lines = make([]int, 0, b.items)
		itemLines(c, b.line, a.st.ind, func(line int) { d.lines = append(d.lines, line) })
	}
	if a.keep {
		d.doc = *buf
	}
	return d
}

// next returns the next batch decoded.
func (a *batchAhead) next() batchDecoded {
	i := a.at
	a.at++
	if len(a.outs) == 0 {
		return a.decode(&a.buf, &a.chunk, a.jobs[i])
	}
	return <-a.outs[i%len(a.outs)]
}

// stop stops the workers and waits for them: each is decoding a batch at
// most, dropped.
func (a *batchAhead) stop() {
	if a.done == nil {
		return
	}
	close(a.done)
	a.wg.Wait()
	a.done = nil
}
