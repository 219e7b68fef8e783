package runtest_test

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/runtest"
)

var update = flag.Bool("update", false, "rewrite the expectations of the shipped cassettes")

// TestShippedCassettes runs every cassette under examples/cassettes the
// way `runbook test examples/cassettes` does, each against its playbook
// from this source tree (playbooks/NAME.yaml, examples/playbooks/NAME.yaml).
//
// Their expectations live in testdata/shipped/ rather than beside the
// cassettes, because examples embeds every *.yaml of cassettes/ as a
// cassette. go test ./runtest -update rewrites them.
func TestShippedCassettes(t *testing.T) {
	cases, err := runtest.Find("../examples/cassettes")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		base := strings.TrimSuffix(filepath.Base(c.Cassette), ".yaml")
		cases[i].Expect = filepath.Join("testdata", "shipped", base+runtest.ExpectSuffix)
	}
	runtest.CheckCases(t, *update, runtest.Options{}, cases)
}
