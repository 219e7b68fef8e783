package runtest_test

import (
	"flag"
	"testing"

	"github.com/runbook-dev/runbook/runtest"
)

var update = flag.Bool("update", false, "rewrite the expectations of the shipped cassettes")

// TestShippedCassettes runs every cassette under examples/cassettes exactly
// the way `runbook test examples/cassettes` does, each against its playbook
// from this source tree (playbooks/NAME.yaml, examples/playbooks/NAME.yaml),
// with the expectations beside the cassettes. go test ./runtest -update
// rewrites them.
func TestShippedCassettes(t *testing.T) {
	cases, err := runtest.Find("../examples/cassettes")
	if err != nil {
		t.Fatal(err)
	}
	runtest.CheckCases(t, *update, runtest.Options{}, cases)
}
