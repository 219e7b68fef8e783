package runtest

import (
	"context"
	"errors"
	"testing"
)

// Check is `runbook test` as a Go test: it finds the cases under paths
// (see Find) and runs each as a subtest named after its cassette, failing
// it with the diff when it does not match. With update it rewrites the
// expectations instead, like `runbook test --update`.
//
//	var update = flag.Bool("update", false, "rewrite the expectations")
//
//	func TestPlaybooks(t *testing.T) {
//		runtest.Check(t, *update, runtest.Options{}, "playbooks")
//	}
func Check(t *testing.T, update bool, o Options, paths ...string) {
	t.Helper()
	cases, err := Find(paths...)
	if err != nil {
		t.Fatal(err)
	}
	CheckCases(t, update, o, cases)
}

// CheckCases is Check for cases already found (and perhaps adjusted, such
// as their Expect path).
func CheckCases(t *testing.T, update bool, o Options, cases []Case) {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			run := Run
			if update {
				run = Update
			}
			out := run(context.Background(), c, o)
			switch {
			case out.Err != nil && errors.Is(out.Err, ErrNoExpectation):
				t.Fatalf("%v (go test -update)", out.Err)
			case out.Err != nil:
				t.Fatal(out.Err)
			case update && out.Diff != "":
				t.Logf("updated %s:\n%s", c.Expect, out.Diff)
			case out.Diff != "":
				msg := "replay differs from " + c.Expect + " (go test -update rewrites it):\n" + out.Diff
				if out.RunErr != nil {
					msg += "the run ended with: " + out.RunErr.Error()
				}
				t.Error(msg)
			}
		})
	}
}
