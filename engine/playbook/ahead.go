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

// batchJob is one batch to decode: its bytes and how many items it has.
type batchJob struct {
	chunk []byte
	n     int
}

// batchDecoded is what readBatch returned for a batch.
type batchDecoded struct {
	doc []byte
	seq *yaml.Node
	ok  bool
}

// batchAhead hands the batches of jobs decoded (readBatch), in order,
// decoding those to come on goroutines of its own. Batch i is decoded by
// worker i mod len(outs), which sends it on its own channel: the order is
// kept without a lock, and each worker is at most two batches ahead.
type batchAhead struct {
	jobs []batchJob
	// keep: each batch's document in a buffer of its own, for the caller
	// to keep (else each worker reuses one).
	keep bool
	at   int
	buf  []byte // the calling goroutine's, with no worker
	outs []chan batchDecoded
	done chan struct{}
	wg   sync.WaitGroup
}

// readAhead starts decoding jobs. The caller calls next once per job, in
// order, and no further after a batch that did not read (ok false), then
// stop, always (a deferred call): stop returns once every goroutine it
// started has.
func readAhead(jobs []batchJob, keep bool) *batchAhead {
	a := &batchAhead{jobs: jobs, keep: keep}
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
	var buf []byte
	for j := i; j < len(a.jobs); j += len(a.outs) {
		select {
		case <-a.done:
			return
		default:
		}
		d := a.decode(&buf, a.jobs[j])
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

// decode decodes job, in *buf (reused unless keep).
func (a *batchAhead) decode(buf *[]byte, job batchJob) batchDecoded {
	if a.keep {
		*buf = nil
	}
	var d batchDecoded
	*buf, d.seq, d.ok = readBatch(*buf, job.chunk, job.n)
	if a.keep {
		d.doc = *buf
	}
	return d
}

// next returns the next batch decoded: its document (with keep), its list
// and whether it read.
func (a *batchAhead) next() ([]byte, *yaml.Node, bool) {
	i := a.at
	a.at++
	var d batchDecoded
	if len(a.outs) == 0 {
		d = a.decode(&a.buf, a.jobs[i])
	} else {
		d = <-a.outs[i%len(a.outs)]
	}
	return d.doc, d.seq, d.ok
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
