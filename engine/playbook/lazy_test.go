package playbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

// writeLong writes a playbook of n top-level steps of every kind, with
// expressions, lets, block scalars and an include, and its fragment, into
// dir.
func writeLong(t *testing.T, dir string, n int) string {
	t.Helper()
	frag := "- id: inc_a\n  run: show inc ${params.tunnel}\n- note: included\n"
	if err := os.WriteFile(filepath.Join(dir, "frag.yaml"), []byte(frag), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`name: long
title: A long playbook
params:
  tunnel: {type: string, default: sap-sap}
  n: {type: int, default: 2}
  pw: {type: secret, required: false}
steps:
`)
	for i := range n {
		switch i % 9 {
		case 0:
			fmt.Fprintf(&b, "  - id: s%d\n    run: show vpn flow tunnel-id %d\n    parse: keyvalue\n    undo: {one_of: [debug off %d, debug x off]}\n", i, i, i)
		case 1:
			fmt.Fprintf(&b, "  - id: s%d\n    when: steps.s%d.ok\n    run: show ${params.tunnel} %d\n    capture:\n      sa: 'spi (\\w+)'\n      ex: {expr: 'output.text + item'}\n    for_each: '[\"a\", \"b\"]'\n    prompts:\n      - {match: 'sure', answer: '${params.pw}'}\n", i, i-1, i)
			b.WriteString("    xml: <show>${item}</show>\n")
		case 2:
			fmt.Fprintf(&b, "  - id: s%d\n    run: |\n      show counter ${vars.sa}\n      and ${ params.n * 2 }\n    repeat: {count: '${params.n}', interval: 1s}\n", i)
		case 3:
			fmt.Fprintf(&b, "  - if: steps.s%d.ran && len(steps.s%d.runs) > 0\n    then:\n      - id: s%d\n        note: then ${target.name}\n      - wait: '${ string(params.n) + \"s\" }'\n    else:\n      - prompt: go on? ${vars.ex}\n        timeout: 5s\n", i-1, i-1, i)
		case 4:
			if i == 4 {
				b.WriteString("  - include: frag.yaml\n")
				continue
			}
			fmt.Fprintf(&b, "  - id: s%d\n    run: show until %d\n    until: output.text != \"\"\n    retry: {max: 3, interval: 1s}\n", i, i)
		case 5:
			fmt.Fprintf(&b, "  - id: s%d\n    let:\n      T: 'params.tunnel + \"-\" + string(params.n)'\n      P: 'params.pw'\n    when: T != \"\"\n    run: show let ${T} %d\n    prompts:\n      - {match: 'pw', answer: '${P}'}\n    undo: clear let ${T}\n", i, i)
		default:
			fmt.Fprintf(&b, "  - name: plain %d # a comment\n    run: \"show x %d\"\n    on_error: continue\n\n", i, i)
		}
	}
	b.WriteString("cleanup:\n  - run: clear all\nfindings:\n  - id: f\n    severity: info\n    when: steps.s0.ok\n    message: ok ${vars.sa}\n    evidence: [{step: s0, field: x}]\n")
	p := filepath.Join(dir, "long.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// withLazyMin sets lazyMin for the test.
func withLazyMin(t *testing.T, n int) {
	old := lazyMin
	lazyMin = n
	t.Cleanup(func() { lazyMin = old })
}

// loadHeld loads path as Load does, holding its steps.
func loadHeld(t *testing.T, path string) *Playbook {
	t.Helper()
	old := lazyMin
	lazyMin = 1 << 30
	defer func() { lazyMin = old }()
	pb, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if pb.lazy != nil || pb.Steps == nil {
		t.Fatal("the held load did not hold its steps")
	}
	return pb
}

// sameSteps reports where the steps a and b differ, their compiled
// programs compared by their instructions.
func sameSteps(a, b []*Step) string {
	if d := sameValue(reflect.ValueOf(a), reflect.ValueOf(b), "steps"); d != "" {
		return d
	}
	var pa, pb []string
	collect := func(out *[]string) func(*Step) {
		return func(s *Step) {
			v := reflect.ValueOf(s).Elem()
			programs(v, out)
		}
	}
	Walk(a, collect(&pa))
	Walk(b, collect(&pb))
	if !reflect.DeepEqual(pa, pb) {
		return fmt.Sprintf("compiled programs differ (%d and %d)", len(pa), len(pb))
	}
	if len(pa) == 0 {
		return "no program compared"
	}
	return ""
}

// programs appends the disassembly of every program under v.
func programs(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if p, ok := v.Interface().(*vm.Program); ok {
			*out = append(*out, p.Disassemble())
			return
		}
		programs(v.Elem(), out)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(Step{}) {
			for i := range v.NumField() {
				if n := v.Type().Field(i).Name; n != "Then" && n != "Else" {
					programs(v.Field(i), out)
				}
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				programs(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			programs(v.Index(i), out)
		}
	}
}

// TestEachStepHeldAndLazy: a playbook whose steps Load keeps in the file
// gives, through EachStep and AllSteps, the steps the held load holds,
// programs and all, and the same facts.
func TestEachStepHeldAndLazy(t *testing.T) {
	dir := t.TempDir()
	path := writeLong(t, dir, 3*stepBatch+5)
	held := loadHeld(t, path)
	withLazyMin(t, stepBatch)
	lazy, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if lazy.lazy == nil || lazy.Steps != nil {
		t.Fatal("the long playbook holds its steps")
	}
	if len(lazy.lazy.batches) != 4 {
		t.Fatalf("%d batches, want 4", len(lazy.lazy.batches))
	}
	var each []*Step
	if err := lazy.EachStep(func(s *Step) error { each = append(each, s); return nil }); err != nil {
		t.Fatal(err)
	}
	var heldEach []*Step
	if err := held.EachStep(func(s *Step) error { heldEach = append(heldEach, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := sameSteps(heldEach, each); d != "" {
		t.Fatalf("EachStep: %s", d)
	}
	all, err := lazy.AllSteps()
	if err != nil {
		t.Fatal(err)
	}
	if d := sameSteps(held.Steps, all); d != "" {
		t.Fatalf("AllSteps: %s", d)
	}
	if all[0] == each[0] {
		t.Error("AllSteps gave the steps of the EachStep before: not read again")
	}
	// Everything but the steps and how they are kept is the same.
	h, l := *held, *lazy
	h.Steps, h.lazy, l.lazy = nil, nil, nil
	if d := samePlaybook(&h, &l); d != "" {
		t.Fatalf("playbook: %s", d)
	}
	for _, id := range []string{"s0", "s1", "s2", "s9", "inc_a", "nothing"} {
		if held.ReadsStep(id) != lazy.ReadsStep(id) {
			t.Errorf("ReadsStep(%s) differs", id)
		}
	}
	if !lazy.HasPrompt() || lazy.NumSteps() <= len(all) || len(lazy.KeptSteps()) == 0 {
		t.Errorf("facts: prompt %v, %d steps, kept %v", lazy.HasPrompt(), lazy.NumSteps(), lazy.KeptSteps())
	}
	// Several runs (the targets of one `runbook run`) read the same
	// playbook at once, each its own steps.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			got, err := lazy.AllSteps()
			if err == nil && sameSteps(held.Steps, got) != "" {
				err = errors.New("the steps read at once differ")
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// Order is the place in Walk, from 1.
	n := 0
	Walk(all, func(s *Step) {
		if n++; s.Order != n {
			t.Fatalf("step at %s has Order %d, want %d", s.Pos, s.Order, n)
		}
	})
	// The bounds of params are checked from the steps read again.
	if _, err := lazy.Bind(map[string]string{"n": "0"}); err == nil || !strings.Contains(err.Error(), "param n") {
		t.Errorf("Bind n=0: %v", err)
	}
	if _, err := lazy.Bind(nil); err != nil {
		t.Errorf("Bind: %v", err)
	}
}

// TestLazyChanged: a file changed since Load fails EachStep with
// ErrChanged, whatever changed, and only once the steps come to it.
func TestLazyChanged(t *testing.T) {
	withLazyMin(t, stepBatch)
	cases := []struct {
		name   string
		change func(t *testing.T, path string, src []byte)
		// ran is the number of steps given before the error.
		ran int
		// during: changed by fn at the tenth step, not before EachStep;
		// the batch after may be read already (one batch ahead), and is
		// given then, as checked.
		during bool
	}{
		{"while the steps run", func(t *testing.T, path string, src []byte) {
			write(t, path, append(src, "# more\n"...))
		}, stepBatch + 1, true},
		{"longer", func(t *testing.T, path string, src []byte) {
			write(t, path, append(src, "# more\n"...))
		}, 0, false},
		{"same size and time, a later batch", func(t *testing.T, path string, src []byte) {
			fi, _ := os.Stat(path)
			i := strings.LastIndex(string(src), "show x ")
			src[i+5] = 'y'
			write(t, path, src)
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, 3*stepBatch + 1, false}, // the include gives two steps
		{"fragment", func(t *testing.T, path string, src []byte) {
			write(t, filepath.Join(filepath.Dir(path), "frag.yaml"), []byte("- note: other\n"))
		}, 0, false}, // the include is in the first batch, decoded before its steps are given
		{"gone", func(t *testing.T, path string, src []byte) {
			os.Remove(path)
		}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeLong(t, t.TempDir(), 3*stepBatch+5)
			pb, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			src, _ := os.ReadFile(path)
			if !c.during {
				c.change(t, path, src)
			}
			n := 0
			err = pb.EachStep(func(*Step) error {
				if n++; n == 10 && c.during {
					c.change(t, path, src)
				}
				return nil
			})
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("EachStep: %v, want ErrChanged", err)
			}
			switch {
			case c.during && n != c.ran && n != c.ran+stepBatch:
				t.Errorf("%d steps before the error, want %d or %d (%v)", n, c.ran, c.ran+stepBatch, err)
			case !c.during && n != c.ran:
				t.Errorf("%d steps before the error, want %d (%v)", n, c.ran, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("the error does not name the file: %v", err)
			}
		})
	}
	// An error of fn stops EachStep and is returned as it is.
	path := writeLong(t, t.TempDir(), 3*stepBatch+5)
	pb, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	if err := pb.EachStep(func(*Step) error {
		if n++; n == 70 {
			return stop
		}
		return nil
	}); err != stop || n != 70 {
		t.Errorf("EachStep = %v after %d steps, want stop after 70", err, n)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	// Not the same time as the file written just before, on a coarse clock.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFileMatchesHeld: a long playbook Load reads a line at a time
// (loadFile: no more of its text held than its skeleton and a batch)
// loads as the held load of the same text does, whatever its lines look
// like, and its sum is the file's.
func TestLoadFileMatchesHeld(t *testing.T) {
	withLazyMin(t, stepBatch)
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	steps := func(n int, f func(int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	head := "name: x\ntitle: X\nparams:\n  n: {type: int, default: 1}\n"
	for name, src := range map[string]string{
		"long lines": head + "steps:\n" + steps(2*stepBatch+1, func(i int) string {
			return fmt.Sprintf("  - id: s%d\n    run: show %s %d ${params.n}\n", i, long[:i*997%len(long)], i)
		}),
		"no final break": head + "steps:\n" + steps(stepBatch+3, func(i int) string {
			return fmt.Sprintf("  - id: s%d\n    run: show %d ${params.n}\n", i, i)
		}) + "  - run: last",
		"blank lines and comments": head + "steps:\n\n# before\n\n" + steps(stepBatch+3, func(i int) string {
			return fmt.Sprintf("  - id: s%d # c\n\n    run: |\n      show %d\n\n      more ${ params.n }\n  # between\n\n", i, i)
		}) + "cleanup:\n  - run: clear\n",
		"items at column 0": head + "steps:\n" + steps(stepBatch+3, func(i int) string {
			return fmt.Sprintf("- id: s%d\n  run: show %d ${params.n}\n", i, i)
		}) + "findings:\n  - id: f\n    severity: info\n    when: steps.s0.ok\n    message: m\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			held := loadHeld(t, path)
			pb, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if pb.lazy == nil {
				t.Fatal("not kept in the file")
			}
			all, err := pb.AllSteps()
			if err != nil {
				t.Fatal(err)
			}
			if d := sameSteps(held.Steps, all); d != "" {
				t.Fatal(d)
			}
			sum := sha256.Sum256([]byte(src))
			if pb.SHA256 != hex.EncodeToString(sum[:]) || held.SHA256 != pb.SHA256 {
				t.Errorf("sum %s, held %s, want %x", pb.SHA256, held.SHA256, sum)
			}
		})
	}
}

// TestLoadFileChangedBatch: a batch whose bytes differ, when the check
// reads it, from what the split read is not loaded from (the caller
// reads the file whole).
func TestLoadFileChangedBatch(t *testing.T) {
	withLazyMin(t, stepBatch)
	path := writeLong(t, t.TempDir(), 2*stepBatch+1)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sp := newSplitter()
	for l := range bytes.Lines(src) {
		sp.add(l)
	}
	_, st, _, ok := sp.done()
	if !ok {
		t.Fatal("not split")
	}
	st.file = f
	b := st.spans[1]
	if _, ok := st.chunk(b, nil); !ok {
		t.Fatal("the batch as split does not read back")
	}
	changed := bytes.Clone(src)
	changed[b.start+4] ^= 1
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.chunk(b, nil); ok {
		t.Fatal("a changed batch read back as split")
	}
}

// TestLoadFileShort: a file of lazyMin steps or fewer (or one not plain
// enough to split) is not kept in the file: loadFile hands back its text,
// read whole once, for the caller to load; a longer one it loads itself.
func TestLoadFileShort(t *testing.T) {
	withLazyMin(t, stepBatch)
	read := func(n string) ([]byte, error) { return os.ReadFile(n) }
	join := func(from, rel string) string { return filepath.Join(filepath.Dir(from), rel) }
	dir := t.TempDir()
	for name, c := range map[string]struct {
		n    int
		tab  bool
		kept bool
	}{"short": {stepBatch, false, false}, "short with a tab": {stepBatch, true, false}, "long": {stepBatch + 1, false, true}} {
		var b strings.Builder
		b.WriteString("name: x\ntitle: X\nsteps:\n")
		for i := range c.n {
			fmt.Fprintf(&b, "  - id: s%d\n    run: show %d\n", i, i)
		}
		if c.tab {
			b.WriteString("  - run: \"show\ta\"\n")
		}
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		pb, text, ok := loadFile(path, read, join)
		if ok != c.kept || (pb != nil) != c.kept {
			t.Errorf("%s: loaded %v, want %v", name, ok, c.kept)
		}
		if want := b.String(); !c.kept && string(text) != want || c.kept && text != nil {
			t.Errorf("%s: text %d bytes, want %d (kept %v)", name, len(text), len(want), c.kept)
		}
	}
}
