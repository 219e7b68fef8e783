package engine

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// TestWholeOutput: the steps whose output files a run keeps are those a
// finding, or a case finding, names as evidence without a field; none
// when every entry names one.
func TestWholeOutput(t *testing.T) {
	pb, err := playbook.Load("playbook/testdata/good/case.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := wholeOutput(pb); got != nil {
		t.Errorf("every entry names a field: kept %v", got)
	}
	pb.Case.Findings[0].Evidence = append(pb.Case.Findings[0].Evidence, playbook.Evidence{End: "b", Step: "flow"})
	pb.Findings = append(pb.Findings, &playbook.Finding{ID: "x", Evidence: []playbook.Evidence{{Step: "clock"}, {Step: "flow", Field: "encap"}}})
	got := slices.SortedFunc(maps.Keys(wholeOutput(pb)), func(a, b stepItem) int { return strings.Compare(a.id, b.id) })
	if want := []stepItem{{"clock", ""}, {"flow", ""}}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
}
