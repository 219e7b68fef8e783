package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkFast fails t when fastBatch reads chunk and its tree is not the
// one yaml.v3 decodes (readBatch's slow path); it says whether it read it.
func checkFast(t *testing.T, chunk []byte, n int) bool {
	t.Helper()
	fast, ok := fastBatch(chunk, n)
	if !ok {
		return false
	}
	slow, sok := slowBatch(append([]byte("---\n"), chunk...), n)
	if !sok {
		t.Fatalf("fastBatch reads what yaml.v3 refuses:\n%s", chunk)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fastBatch reads it differently from yaml.v3:\n%s", chunk)
	}
	return true
}

// benchSteps writes n steps as BenchmarkLoadLong and report's
// BenchmarkReplayEndToEnd write them.
func benchSteps(n int) []byte {
	var src strings.Builder
	src.WriteString("name: big\ntitle: t\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&src, "  - id: s%d\n    run: show vpn flow tunnel-id %d\n    parse: keyvalue\n", i, i)
		if i%10 == 0 {
			fmt.Fprintf(&src, "    undo: debug off %d\n", i)
		}
	}
	return []byte(src.String())
}

// TestFastBatchBench: the benchmark's steps take the fast path, every
// batch, and read as yaml.v3 reads them.
func TestFastBatchBench(t *testing.T) {
	_, st, ok := splitSteps(benchSteps(1000))
	if !ok {
		t.Fatal("the benchmark's playbook does not split")
	}
	for _, b := range st.spans {
		if !checkFast(t, st.src[b.start:b.end], b.items) {
			t.Fatalf("the batch from line %d takes the slow path", b.line)
		}
	}
}

// TestFastBatchShipped: on the shipped playbooks and the test data, what
// the fast path reads it reads as yaml.v3 does, and a wrong count of
// items is refused.
func TestFastBatchShipped(t *testing.T) {
	var names []string
	for _, g := range []string{"../../playbooks/*.yaml", "testdata/*/*.yaml", "testdata/*/fragments/*.yaml"} {
		m, _ := filepath.Glob(g)
		names = append(names, m...)
	}
	if len(names) == 0 {
		t.Fatal("no playbook found")
	}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, st, ok := splitSteps(src)
		if !ok {
			continue
		}
		fast := 0
		for _, b := range st.spans {
			c := st.src[b.start:b.end]
			if checkFast(t, c, b.items) {
				fast++
			}
			if _, ok := fastBatch(c, b.items+1); ok {
				t.Fatalf("%s: fastBatch reads %d items as %d", name, b.items, b.items+1)
			}
		}
		t.Logf("%s: %d of %d batches fast", name, fast, len(st.spans))
	}
}

// TestFastBatchSubset pins what the fast path takes and what it leaves.
func TestFastBatchSubset(t *testing.T) {
	for _, c := range []struct {
		src  string
		fast bool
	}{
		{"- id: a\n  run: show x\n", true},
		{"  - id: a\n    n: 0\n    m: 12\n    w:\n      a: b\n\n  - id: x", true},
		{"- id: a\n  run: 'show x'\n", false},
		{"- id: a\n  run: show x # c\n", false},
		{"- id: a\n  run: true\n", false},
		{"- id: a\n  null: x\n", false},
		{"- id: a\n  run: show\n    x\n", false},
		{"- id: a\n  id: b\n", false},
		{"- id: a\n  run: 012\n", false},
		{"- id: a\n  run: x \n", false},
		{"- id: a\n  run:\n", false},
	} {
		if got := checkFast(t, []byte(c.src), 1+strings.Count(c.src, "\n  - ")); got != c.fast {
			t.Errorf("fast %v, want %v:\n%s", got, c.fast, c.src)
		}
	}
}

// FuzzFastBatch: whatever fastBatch reads, it reads as yaml.v3 does.
func FuzzFastBatch(f *testing.F) {
	f.Add([]byte("- id: a\n  run: show x\n"), 1)
	f.Add([]byte("  - id: s1\n    run: show vpn flow tunnel-id 1\n    parse: keyvalue\n    undo: debug off 10\n  - id: b\n    w:\n      a: 1\n"), 2)
	f.Fuzz(func(t *testing.T, chunk []byte, n int) {
		checkFast(t, chunk, n)
	})
}
