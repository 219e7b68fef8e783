package examples_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/schema"
)

// scratchCases are the cassettes of the playbooks under playbooks/, written
// from scratch (not built in); their cassettes are hand-written and
// replayed by TestReplayCassettes like the others.
var scratchCases = []struct {
	name     string
	exit     int
	findings []string
}{
	{name: "ha-health", findings: []string{"ha-config-not-synced", "ha-link-down"}},
}

// TestScratchPlaybooksValidate checks every playbook under playbooks/ the
// way `runbook validate` does: against the JSON Schema, then with the
// strict loader (which compiles every expression).
func TestScratchPlaybooksValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("playbooks", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no playbooks under examples/playbooks (%v)", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(f, src); err != nil {
			t.Errorf("schema: %v", err)
		}
		pb, err := playbook.Load(f)
		if err != nil {
			t.Errorf("load: %v", err)
			continue
		}
		if want := filepath.Base(f); pb.Name+".yaml" != want {
			t.Errorf("%s: name %q does not match the file name", f, pb.Name)
		}
		if _, err := os.Stat(filepath.Join("cassettes", pb.Name+".yaml")); err != nil {
			t.Errorf("%s has no cassette: %v", f, err)
		}
	}
}
