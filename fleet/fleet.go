package fleet

import (
	"context"
	"fmt"
	"sync"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
)

// Bind binds the parameters of one target: those the target supplies (an
// inventory's params, a demo device's, a cassette's) that the playbook
// declares, under the ones given on the command line, which win.
func Bind(pb *playbook.Playbook, target, given map[string]string) (map[string]any, error) {
	p := make(map[string]string, len(target)+len(given))
	for k, v := range target {
		if pb.Param(k) != nil {
			p[k] = v
		}
	}
	for k, v := range given {
		p[k] = v
	}
	params, err := pb.Bind(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pb.Name, err)
	}
	return params, nil
}

// Fleet is the runs of one invocation. Add every target first, then Run
// once; Pending may be called from another goroutine at any time.
type Fleet struct {
	// Parallel bounds the runs at once; below 1 means 1.
	Parallel int
	// Retry bounds the retries of each target's first connection
	// (RetryFirst); the zero value retries nothing.
	Retry Retry

	mu      sync.Mutex
	runners []*engine.Runner
	retries []func() int
	// synced are the runs with an engine.Options.Sync: the ends of a
	// case, which must run at once.
	synced []bool
}

// Add prepares the run of o and checks, before anything is sent, that it
// can start (engine.Runner.Check): the error names the target, and the
// caller should then send nothing to any target.
func (f *Fleet) Add(o engine.Options) (*engine.Runner, error) {
	retries := func() int { return 0 }
	if f.Retry.Attempts > 1 && o.Open != nil {
		var open OpenFunc
		open, retries = RetryFirst(o.Open, f.Retry)
		o.Open = open
	}
	r := engine.New(o)
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Target, err)
	}
	f.mu.Lock()
	f.runners = append(f.runners, r)
	f.retries = append(f.retries, retries)
	f.synced = append(f.synced, o.Sync != nil)
	f.mu.Unlock()
	return r, nil
}

// Retries is, per target in the order added, how many times its first
// connection was tried again.
func (f *Fleet) Retries() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.retries))
	for i, n := range f.retries {
		out[i] = n()
	}
	return out
}

// Run runs every target added, at most Parallel at once, and returns
// their results in the order they were added. Each run cleans up on its
// own when ctx is cancelled. The runs that meet (an engine.Options.Sync:
// the ends of a case) start first and all at once, whatever Parallel
// says: an end never waits at a meeting point for one that cannot start.
func (f *Fleet) Run(ctx context.Context) []*engine.Result {
	f.mu.Lock()
	runners := append([]*engine.Runner(nil), f.runners...)
	synced := append([]bool(nil), f.synced...)
	f.mu.Unlock()
	results := make([]*engine.Result, len(runners))
	together := 0
	for _, s := range synced {
		if s {
			together++
		}
	}
	sem := make(chan struct{}, max(f.Parallel, together, 1))
	var wg sync.WaitGroup
	start := func(i int, r *engine.Runner, taken bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !taken {
				sem <- struct{}{}
			}
			defer func() { <-sem }()
			results[i] = r.Run(ctx)
		}()
	}
	for i, r := range runners {
		if synced[i] {
			sem <- struct{}{} // never blocks: the bound holds them all
			start(i, r, true)
		}
	}
	for i, r := range runners {
		if !synced[i] {
			start(i, r, false)
		}
	}
	wg.Wait()
	return results
}

// Pending returns the undo and cleanup commands still to run across every
// target, and the run folder of each target that has some: what a
// repeated signal tells the operator (`runbook cleanup RUNDIR`).
func (f *Fleet) Pending() (pending, dirs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runners {
		if p := r.Pending(); len(p) > 0 {
			pending = append(pending, p...)
			dirs = append(dirs, r.Dir())
		}
	}
	return pending, dirs
}

// WorstExit is the exit code of several runs: the worst of theirs
// (engine.WorseExit); 0 for none.
func WorstExit(results []*engine.Result) int {
	worst := engine.ExitOK
	for _, res := range results {
		if res != nil {
			worst = engine.WorseExit(worst, res.ExitCode)
		}
	}
	return worst
}
