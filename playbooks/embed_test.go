package playbooks

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var testFS = fstest.MapFS{
	"b-second.yaml":    {Data: []byte("name: b-second\ntitle: Second\nsteps:\n  - include: fragments/f.yaml\n")},
	"a-first.yaml":     {Data: []byte("name: a-first\ntitle: First\nsteps:\n  - run: show clock\n")},
	"fragments/f.yaml": {Data: []byte("- run: show system info\n")},
	"embed.go":         {Data: []byte("package playbooks\n")},
}

func TestListAndLookup(t *testing.T) {
	ts := Set{FS: testFS}
	got, err := ts.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{{"a-first", "First", "a-first.yaml"}, {"b-second", "Second", "b-second.yaml"}}
	if !slices.Equal(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	for _, name := range []string{"a-first", "a-first.yaml"} {
		if p, ok := ts.Lookup(name); !ok || p != "a-first.yaml" {
			t.Errorf("lookup(%q) = %q, %v", name, p, ok)
		}
	}
	for _, name := range []string{"", "embed", "fragments/f", "../a-first", "nope.yaml"} {
		if _, ok := ts.Lookup(name); ok {
			t.Errorf("lookup(%q) found a playbook", name)
		}
	}
	pb, err := ts.Load("b-second.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Steps) != 1 || pb.Steps[0].File != "fragments/f.yaml" {
		t.Errorf("include not expanded from the embedded fragments: %+v", pb.Steps)
	}
	if _, err := ts.Load("nope"); err == nil || err.Error() != `no built-in playbook "nope"` {
		t.Errorf("load(nope) err = %v", err)
	}
}

func TestListBroken(t *testing.T) {
	fsys := fstest.MapFS{"bad.yaml": {Data: []byte("name: bad\nsteps: []\n")}}
	if _, err := (Set{FS: fsys}).List(); err == nil {
		t.Fatal("list of a broken built-in succeeded")
	}
}

// TestBuiltinsLoad loads every shipped playbook; it passes trivially only
// while none is shipped yet.
func TestBuiltinsLoad(t *testing.T) {
	for _, n := range Names() {
		if _, err := Load(n); err != nil {
			t.Errorf("built-in %s: %v", n, err)
		}
		p, _ := Lookup(n)
		b, _ := fs.ReadFile(FS, p)
		if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=") {
			t.Errorf("built-in %s does not start with the # yaml-language-server: $schema= line", n)
		}
	}
	for _, f := range Fragments() {
		if _, err := fs.ReadFile(FS, f); err != nil {
			t.Error(err)
		}
	}
}
