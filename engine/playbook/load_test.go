package playbook

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestLoadGood loads every playbook in testdata/good without error.
func TestLoadGood(t *testing.T) {
	names, _ := filepath.Glob("testdata/good/*.yaml")
	if len(names) == 0 {
		t.Fatal("no good playbooks")
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			if _, err := Load(name); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

// TestLoadBad pins the exact errors of every playbook in testdata/bad in
// its .golden file. Run with -update to rewrite them.
func TestLoadBad(t *testing.T) {
	names, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(names) == 0 {
		t.Fatal("no bad playbooks")
	}
	fsys := os.DirFS("testdata")
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			rel := "bad/" + filepath.Base(name)
			_, err := LoadFS(fsys, rel)
			if err == nil {
				t.Fatal("LoadFS succeeded, want errors")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(name, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
