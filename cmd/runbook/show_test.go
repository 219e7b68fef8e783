package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/playbooks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/show and testdata/dryrun")

// goodPlaybooks are every playbook that loads: the built-ins (by name),
// the examples and the loader's good test playbooks (by path).
func goodPlaybooks(t *testing.T) []string {
	t.Helper()
	out := playbooks.Names()
	for _, g := range []string{"../../examples/playbooks/*.yaml", "../../engine/playbook/testdata/good/*.yaml"} {
		names, err := filepath.Glob(g)
		if err != nil || len(names) == 0 {
			t.Fatalf("no playbook matches %s", g)
		}
		out = append(out, names...)
	}
	return out
}

// goldenName is the file a playbook's golden is kept under.
func goldenName(arg string) string {
	if !strings.HasSuffix(arg, ".yaml") {
		return "builtin-" + arg
	}
	dir := filepath.Base(filepath.Dir(arg))
	return dir + "-" + strings.TrimSuffix(filepath.Base(arg), ".yaml")
}

// checkGolden compares got with testdata/NAME, rewriting it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/runbook -run %s -update creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s", path, got)
	}
}

// TestShowGoldens pins `runbook show` and `show --json` of every good
// playbook: the outline (engine/playbook) and its two printers.
func TestShowGoldens(t *testing.T) {
	for _, arg := range goodPlaybooks(t) {
		t.Run(goldenName(arg), func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				var out, errOut bytes.Buffer
				opts := &showOptions{io: &IOStreams{Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}, Playbook: arg, JSON: asJSON}
				if err := runShow(opts); err != nil {
					t.Fatalf("show %s: %v", arg, err)
				}
				ext := ".txt"
				if asJSON {
					ext = ".json"
				}
				checkGolden(t, filepath.Join("show", goldenName(arg)+ext), out.String())
			}
		})
	}
}

// TestDryRunGoldens pins the dry run of every built-in against the demo
// target, human and JSON. The demo target is not started: no simulator, no
// connection.
func TestDryRunGoldens(t *testing.T) {
	for _, name := range playbooks.Names() {
		t.Run(name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				var out, errOut bytes.Buffer
				// An inventory of the test's own, so that none of the
				// machine's is read; the demo target needs none.
				inv := filepath.Join(t.TempDir(), "inventory.yaml")
				if err := os.WriteFile(inv, []byte("targets:\n  fw0: {transport: ssh, host: 127.0.0.1, user: admin, password: prompt}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				opts := &runOptions{io: &IOStreams{Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }},
					Playbook: name, Targets: []string{demoTarget}, Inventory: inv,
					Out: filepath.Join(t.TempDir(), "runs"), Parallel: 1, DryRun: true, JSON: asJSON}
				if err := runRun(context.Background(), opts); err != nil {
					t.Fatalf("dry run %s: %v\n%s", name, err, errOut.String())
				}
				if _, err := os.Stat(opts.Out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a dry run made %s: %v", opts.Out, err)
				}
				ext := ".txt"
				if asJSON {
					ext = ".json"
				}
				checkGolden(t, filepath.Join("dryrun", "demo-"+name+ext), out.String())
			}
		})
	}
}
