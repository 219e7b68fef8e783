// Package pbtest holds what the tests of several packages do with
// playbooks: writing and loading a long one. It imports engine/playbook and
// testing, and only tests import it.
package pbtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// LoadLong writes src into long.yaml of a temporary folder of t, loads it
// with playbook.Load and returns it with the file's path. It fails t
// unless the playbook keeps its steps in the file, read again as a run
// reaches them (src needs more top-level steps than Load holds: over a
// thousand).
func LoadLong(t testing.TB, src string) (*playbook.Playbook, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "long.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if pb.Steps != nil {
		t.Fatal("the long playbook holds its steps: the test needs them read again from the file")
	}
	return pb, path
}
