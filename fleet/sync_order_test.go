package fleet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/pbtest"
)

// TestSyncOrderOfStepsReadAgain: the ends of a case running a long
// playbook, whose steps each run decodes from the file again (each end
// its own *Step values), meet at the same places: a step's place is its
// Order, the same however it was read; a hand-built playbook's steps,
// which have none, are numbered by NewSync.
func TestSyncOrderOfStepsReadAgain(t *testing.T) {
	var src strings.Builder
	src.WriteString("name: long\ntitle: Long\nsteps:\n")
	for i := range 1100 {
		fmt.Fprintf(&src, "  - id: s%d\n    run: show %d\n", i, i)
		if i%50 == 0 {
			fmt.Fprintf(&src, "  - if: steps.s%d.ok\n    then:\n      - wait: 1s\n", i)
		}
	}
	pb, _ := pbtest.LoadLong(t, src.String())
	s := NewSync(pb, []string{"a", "b"})
	places := func() []int {
		var out []int
		if err := pb.EachStep(func(st *playbook.Step) error {
			playbook.Walk([]*playbook.Step{st}, func(st *playbook.Step) {
				n, ok := s.ord(st)
				if !ok {
					t.Fatalf("step at %s has no place", st.Pos)
				}
				out = append(out, n)
			})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := places(), places()
	if len(a) != 1144 || len(a) != pb.NumSteps() { // 1100, 22 ifs, 22 waits
		t.Fatalf("%d places, want 1144 (NumSteps %d)", len(a), pb.NumSteps())
	}
	for i := range a {
		if a[i] != i || b[i] != i {
			t.Fatalf("place %d: %d and %d", i, a[i], b[i])
		}
	}
	// Built by hand: no Order until NewSync gives them one.
	st := []*playbook.Step{{Kind: playbook.KindWait}, {Kind: playbook.KindNote}}
	h := NewSync(&playbook.Playbook{Steps: st}, []string{"a", "b"})
	if n, ok := h.ord(st[1]); !ok || n != 1 {
		t.Errorf("hand-built step 2: place %d, %v", n, ok)
	}
	if _, ok := h.ord(&playbook.Step{}); ok {
		t.Error("a step of another playbook has a place")
	}
}
