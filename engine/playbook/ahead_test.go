package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// withAhead sets the number of goroutines that decode ahead for the test.
func withAhead(t *testing.T, n int) {
	old := aheadWorkers
	aheadWorkers = func() int { return n }
	t.Cleanup(func() { aheadWorkers = old })
}

// loadWith loads path with n goroutines decoding ahead and lazyMin min,
// and says it left none running.
func loadWith(t *testing.T, path string, n, min int) (*Playbook, error) {
	t.Helper()
	withAhead(t, n)
	withLazyMin(t, min)
	pb, err := Load(path)
	if s := aheadRunning(); s != "" {
		t.Fatalf("%d ahead: Load returned with a goroutine decoding ahead still running:\n%s", n, s)
	}
	return pb, err
}

// aheadRunning returns the stacks of the goroutines that decode ahead, ""
// when there is none. stop returns once each worker has called wg.Done,
// which it does on its way out: a worker may still be seen between that
// call and its end (CI saw one, runnable on work's closing brace), so the
// stacks are looked at again, a bounded number of times, before a worker
// is said to be left running.
func aheadRunning() string {
	var s string
	for range 200 {
		if s = workerStacks(); s == "" {
			return ""
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// workerStacks returns the stacks of the goroutines in batchAhead.work.
func workerStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "(*batchAhead).work") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestAheadMatchesSequential loads long playbooks, held and kept in the
// file, with the batches decoded on the calling goroutine (none ahead, as
// with one core) and by one and by maxAhead goroutines ahead: each loads the same
// playbook, the same steps read again, or fails with the same errors.
func TestAheadMatchesSequential(t *testing.T) {
	dir := t.TempDir()
	good := writeLong(t, dir, 5*stepBatch+7)
	src, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The same playbook with an error in a late batch, with an unknown
	// key, and two that do not read apart (an item with its content on
	// the line after its dash, a string across items): each falls back to
	// the whole file.
	variant := func(name, from, to string) string {
		i := strings.LastIndex(string(src), from)
		if i < 0 {
			t.Fatalf("%s: %q not in the playbook", name, from)
		}
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(string(src[:i])+to+string(src[i+len(from):])), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paths := []string{
		good,
		variant("late-error", "    on_error: continue\n", "    on_error: sometimes\n"),
		variant("dash-alone", "  - name: plain", "  -\n    name: plain"),
		variant("unknown-key", "    parse: keyvalue\n", "    prase: keyvalue\n"),
		variant("quote-across", "    run: \"show x", "    run: \"show x\n  - b"),
	}
	for _, path := range paths {
		for _, min := range []int{1 << 30, stepBatch} {
			t.Run(fmt.Sprintf("%s/lazyMin=%d", filepath.Base(path), min), func(t *testing.T) {
				want, wantErr := loadWith(t, path, 0, min)
				wantSteps, wantEach := allSteps(want)
				ns := []int{1, maxAhead}
				if path != good {
					ns = ns[1:] // each loaded whole in the end: slow
				}
				for _, n := range ns {
					got, gotErr := loadWith(t, path, n, min)
					if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
						t.Fatalf("%d ahead: error\n%v\nwant\n%v", n, gotErr, wantErr)
					}
					if wantErr != nil {
						continue
					}
					if (got.lazy == nil) != (want.lazy == nil) {
						t.Fatalf("%d ahead: kept in the file %v, want %v", n, got.lazy != nil, want.lazy != nil)
					}
					gotSteps, gotEach := allSteps(got)
					if fmt.Sprint(gotEach) != fmt.Sprint(wantEach) {
						t.Fatalf("%d ahead: reading the steps: %v, want %v", n, gotEach, wantEach)
					}
					if d := sameSteps(wantSteps, gotSteps); d != "" {
						t.Fatalf("%d ahead: steps: %s", n, d)
					}
					g, w := *got, *want
					g.Steps, g.lazy, w.Steps, w.lazy = nil, nil, nil, nil
					if d := samePlaybook(&w, &g); d != "" {
						t.Fatalf("%d ahead: playbook: %s", n, d)
					}
					if want.lazy != nil {
						if d := sameValue(reflect.ValueOf(want.lazy.batches), reflect.ValueOf(got.lazy.batches), "batches"); d != "" {
							t.Fatalf("%d ahead: %s", n, d)
						}
					}
				}
				if path == good && wantErr != nil {
					t.Fatalf("the good playbook: %v", wantErr)
				}
				if bad := strings.Contains(path, "error") || strings.Contains(path, "unknown"); bad && wantErr == nil {
					t.Fatal("the bad playbook loaded")
				}
			})
		}
	}
}

// allSteps returns every top-level step of pb (nil for no playbook).
func allSteps(pb *Playbook) ([]*Step, error) {
	if pb == nil {
		return nil, nil
	}
	return pb.AllSteps()
}

// TestAheadStops: a batch that does not read, or reads with an item not
// where the split saw it, stops the check there, the goroutines decoding
// ahead (busy on later batches, or waiting to hand them over) stopped and
// gone before Load returns; so are they once a good playbook is loaded.
func TestAheadStops(t *testing.T) {
	withAhead(t, maxAhead)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("name: x\ntitle: X\nsteps:\n")
	const n = 40 * stepBatch
	for i := range n {
		fmt.Fprintf(&b, "  - id: s%d\n    run: show x %d\n", i, i)
	}
	src := b.String()
	for name, c := range map[string]struct{ from, to string }{
		"does not read, first batch":  {"    run: show x 3\n", "    run: \"show x 3\n  - b\"\n"},
		"does not read, second batch": {"    run: show x 70\n", "    run: \"show x 70\n  - b\"\n"},
		"not where the split saw it":  {"  - id: s5\n", "  -\n    id: s5\n"},
		"an error in a step":          {"    run: show x 7\n", "    run: show x 7\n    udno: 1\n"},
		"good":                        {},
	} {
		t.Run(name, func(t *testing.T) {
			text := strings.Replace(src, c.from, c.to, 1)
			if c.from != "" && text == src {
				t.Fatal("not changed")
			}
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, min := range []int{1 << 30, stepBatch} {
				withLazyMin(t, min)
				// The stream itself: it must refuse the bad ones (the
				// whole-file load words their errors) and stop.
				read := func(string) ([]byte, error) { return []byte(text), nil }
				join := func(from, rel string) string { return filepath.Join(filepath.Dir(from), rel) }
				start := time.Now()
				var ok bool
				if min == stepBatch {
					_, _, ok = loadFile(path, read, join) // kept in the file
				} else {
					_, ok = loadStream(path, []byte(text), read, join)
				}
				if s := aheadRunning(); s != "" {
					t.Fatalf("lazyMin %d: loadStream returned with a goroutine decoding ahead still running:\n%s", min, s)
				}
				if ok != (c.from == "") {
					t.Errorf("lazyMin %d: streamed %v", min, ok)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("lazyMin %d: took %v", min, d)
				}
				_, err := Load(path)
				if c.from == "" && err != nil || name == "an error in a step" && err == nil {
					t.Errorf("lazyMin %d: Load: %v", min, err)
				}
				if s := aheadRunning(); s != "" {
					t.Fatalf("lazyMin %d: Load returned with a goroutine decoding ahead still running:\n%s", min, s)
				}
			}
		})
	}
}

// TestAheadOrder: batchAhead hands every batch, in order, as readBatch
// reads it, with any number of goroutines; with keep each document is a
// buffer of its own.
func TestAheadOrder(t *testing.T) {
	st := &stepStream{}
	var jobs []lazyBatch
	for i := range 23 {
		n := i%5 + 1
		start := len(st.src)
		for j := range n {
			st.src = fmt.Appendf(st.src, "- run: show %d %d\n", i, j)
		}
		jobs = append(jobs, lazyBatch{start: int64(start), end: int64(len(st.src)), line: 2, items: n})
	}
	for w := 0; w <= maxAhead+1; w++ {
		withAhead(t, w)
		for _, keep := range []bool{false, true} {
			a := readAhead(st, jobs, keep)
			docs := map[*byte]bool{}
			for i, job := range jobs {
				d := a.next()
				doc, seq, ok := d.doc, d.seq, d.ok
				if !ok || len(seq.Content) != job.items || len(d.lines) != job.items {
					t.Fatalf("%d ahead: batch %d: ok %v", w, i, ok)
				}
				if want := fmt.Sprintf("show %d 0", i); seq.Content[0].Content[1].Value != want {
					t.Fatalf("%d ahead: batch %d reads %q, want %q", w, i, seq.Content[0].Content[1].Value, want)
				}
				if keep {
					if string(doc) != "---\n"+string(st.src[job.start:job.end]) || docs[&doc[0]] {
						t.Fatalf("%d ahead: batch %d: document %q (shared %v)", w, i, doc, docs[&doc[0]])
					}
					docs[&doc[0]] = true
				}
			}
			a.stop()
			if s := aheadRunning(); s != "" {
				t.Fatalf("%d ahead: still running after stop:\n%s", w, s)
			}
		}
	}
}
