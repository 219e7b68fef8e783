package playbook

import (
	"slices"
	"testing"
)

// TestNumberSteps: a playbook built by hand gets the Order Load gives,
// in the order of Walk (branches after their if, cleanup left at 0);
// one whose steps are numbered already, or one Load made, keeps its own.
func TestNumberSteps(t *testing.T) {
	inner := &Step{Kind: KindNote}
	steps := []*Step{{Kind: KindRun}, {Kind: KindIf, Then: []*Step{inner}, Else: []*Step{{Kind: KindWait}}}, {Kind: KindNote}}
	clean := &Step{Kind: KindRun}
	p := &Playbook{Steps: steps, Cleanup: []*Step{clean}}
	p.NumberSteps()
	var got []int
	Walk(p.Steps, func(s *Step) { got = append(got, s.Order) })
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(got, want) || clean.Order != 0 || p.NumSteps() != 5 {
		t.Errorf("orders %v, cleanup %d, NumSteps %d; want %v, 0, 5", got, clean.Order, p.NumSteps(), want)
	}
	inner.Order = 9
	p.NumberSteps()
	if inner.Order != 9 || steps[0].Order != 1 {
		t.Errorf("numbered again: %d, %d", inner.Order, steps[0].Order)
	}

	loaded, err := Parse("n.yaml", []byte("name: n\ntitle: t\nsteps:\n  - run: a\n  - run: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	loaded.Steps[0].Order = 7 // what Load gave is not overwritten
	loaded.NumberSteps()
	if loaded.Steps[0].Order != 7 || loaded.Steps[1].Order != 2 {
		t.Errorf("a loaded playbook renumbered: %d, %d", loaded.Steps[0].Order, loaded.Steps[1].Order)
	}
}
