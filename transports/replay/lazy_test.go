package replay_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// answer is what a replay gave one command.
type answer struct {
	text, transport, err string
	left                 int
}

// replayAll sends cmds to tr and returns what came back.
func replayAll(tr *replay.Transport, cmds []string) []answer {
	var out []answer
	for _, cmd := range cmds {
		res, err := tr.Run(context.Background(), transports.Command{CLI: cmd})
		a := answer{text: res.Text, transport: res.Transport, left: tr.Remaining()}
		if err != nil {
			a.err = err.Error()
		}
		out = append(out, a)
	}
	return out
}

// TestOpenReplaysAsLoad replays every shipped cassette read by Open as it
// replays when read by Load: the same answers, errors and counts, in
// order, out of order and past the end, in both modes.
func TestOpenReplaysAsLoad(t *testing.T) {
	var files []string
	for _, g := range []string{"../../examples/cassettes/*.yaml", "testdata/*.yaml", "../record/testdata/*.yaml", "../../engine/testdata/*.yaml", "../../report/testdata/*.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d cassettes", len(files))
	}
	lazy := 0
	for _, f := range files {
		whole, err := replay.Load(f)
		if err != nil {
			continue // not a cassette (a playbook beside them)
		}
		opened, err := replay.Open(f)
		if err != nil {
			t.Fatalf("%s: Load reads it, Open: %v", f, err)
		}
		if !reflect.DeepEqual(opened.Header, whole.Header) || !reflect.DeepEqual(opened.Exports, whole.Exports) || opened.Path != whole.Path {
			t.Fatalf("%s: Open's header or exports differ from Load's", f)
		}
		if opened.Exchanges == nil && len(whole.Exchanges) > 0 {
			lazy++
		}
		var cmds []string
		for _, x := range whole.Exchanges {
			cmds = append(cmds, x.Command)
		}
		// In order, then one too many; out of order from the middle.
		orders := map[string][]string{"in order": append(append([]string(nil), cmds...), "show clock")}
		if len(cmds) > 2 {
			mid := len(cmds) / 2
			orders["out of order"] = append(append(append([]string(nil), cmds[:mid]...), cmds[mid+1], cmds[mid]), cmds[mid+1:]...)
		}
		for what, order := range orders {
			for _, mode := range []replay.Mode{replay.Strict, replay.ByCommand} {
				want := replayAll(replay.New(whole, replay.Options{Mode: mode}), order)
				tr := replay.New(opened, replay.Options{Mode: mode})
				got := replayAll(tr, order)
				tr.Close()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, %s, mode %d: Open replays differently\n got: %v\nwant: %v", f, what, mode, got, want)
				}
			}
		}
	}
	t.Logf("%d of %d cassettes read lazily", lazy, len(files))
	if lazy == 0 {
		t.Error("no cassette was read lazily")
	}
}

// TestOpenRefusesAsLoad: a bad cassette is refused by Open with Load's
// error, before anything is replayed.
func TestOpenRefusesAsLoad(t *testing.T) {
	dir := t.TempDir()
	for i, src := range []string{
		"version: 1\nexchanges:\n  - command: show clock\n    outptu: x\n",
		"version: 2\nexchanges: []\n",
		"version: 1\nexchanges:\n  - command: a\n  - command: b\n    duration: -5s\n",
		"version: 1\nexchanges:\n  - output: x\n",
		"version: 1\nexchanges:\n  - command: a\n  - [x\n",
		"version: 1\nexchanges:\n  - command: a\nextra: 1\n",
	} {
		p := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, lerr := replay.Load(p)
		_, oerr := replay.Open(p)
		if lerr == nil || oerr == nil || oerr.Error() != lerr.Error() || errors.Is(oerr, replay.ErrVersion) != errors.Is(lerr, replay.ErrVersion) {
			t.Errorf("%q: Open error %v, Load error %v", src, oerr, lerr)
		}
	}
	if _, err := replay.Open(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file = %v", err)
	}
}

// TestOpenChanged: a cassette whose file changes after Open fails the
// replay with ErrChanged instead of answering from the new text.
func TestOpenChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	c := &replay.Cassette{Exchanges: []replay.Exchange{{Command: "show clock", Output: "10:00\n"}, {Command: "show jobs", Output: "none\n"}}}
	if err := replay.Save(p, c); err != nil {
		t.Fatal(err)
	}
	opened, err := replay.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	c.Exchanges[0].Output = "11:00 and more\n"
	if err := replay.Save(p, c); err != nil {
		t.Fatal(err)
	}
	tr := replay.New(opened, replay.Options{})
	defer tr.Close()
	if _, err := tr.Run(context.Background(), transports.Command{CLI: "show clock"}); !errors.Is(err, replay.ErrChanged) {
		t.Fatalf("Run after the file changed = %v, want ErrChanged", err)
	}
	if tr := replay.New(opened, replay.Options{Mode: replay.ByCommand}); !errors.Is(func() error {
		_, err := tr.Run(context.Background(), transports.Command{CLI: "show clock"})
		return err
	}(), replay.ErrChanged) {
		t.Fatal("a ByCommand replay of the changed file answered")
	}
}

// FuzzOpen: Open refuses what Load refuses, with the same error, and a
// Strict replay of what it reads answers as Load's does.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"testdata/session.yaml", "testdata/conformance.yaml", "testdata/golden.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("version: 1\nexchanges:\n  - command: x\n    output: |2-\n       a\n  - export: {category: c, name: n}\n  - command: y\n")
	f.Fuzz(func(t *testing.T, src string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		whole, lerr := replay.Load(p)
		opened, oerr := replay.Open(p)
		if (lerr == nil) != (oerr == nil) || lerr != nil && lerr.Error() != oerr.Error() {
			t.Fatalf("Open error %v, Load error %v", oerr, lerr)
		}
		if lerr != nil {
			return
		}
		if !reflect.DeepEqual(opened.Header, whole.Header) || !reflect.DeepEqual(opened.Exports, whole.Exports) {
			t.Fatal("Open's header or exports differ from Load's")
		}
		var cmds []string
		for _, x := range whole.Exchanges {
			cmds = append(cmds, x.Command)
		}
		cmds = append(cmds, "x")
		want := replayAll(replay.New(whole, replay.Options{}), cmds)
		tr := replay.New(opened, replay.Options{})
		defer tr.Close()
		if got := replayAll(tr, cmds); !reflect.DeepEqual(got, want) {
			t.Fatalf("Open replays differently\n got: %v\nwant: %v", got, want)
		}
	})
}
