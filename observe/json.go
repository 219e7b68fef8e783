package observe

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/runbook-dev/runbook/engine"
)

// JSON writes each event as one line of JSON (NDJSON): the schema is
// docs/events.md, versioned by the "v" of every event. It may be shared
// by the runs of several targets: each event is one whole line, and each
// carries its target. After a write error it writes nothing more.
type JSON struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

var _ engine.Observer = (*JSON)(nil)

// NewJSON returns a JSON writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w} }

// Event implements engine.Observer.
func (j *JSON) Event(e engine.Event) {
	b, err := json.Marshal(e)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	if err != nil {
		j.err = err
		return
	}
	if _, err := j.w.Write(append(b, '\n')); err != nil {
		j.err = err
	}
}

// Err is the first error, if any: from then on nothing was written.
func (j *JSON) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
