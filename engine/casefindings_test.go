package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
)

// endState is an end whose flow step ran twice with these encap and decap
// counters.
func endState(name string, encap, decap [2]int) *engine.EndState {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var runs []playbook.RunView
	for i := range 2 {
		runs = append(runs, playbook.RunView{Time: t0.Add(time.Duration(i) * time.Second),
			Fields: map[string]any{"encap": int64(encap[i]), "decap": int64(decap[i])}})
	}
	return &engine.EndState{
		Params: map[string]any{"tunnel": "t1"},
		Vars:   map[string]string{},
		Steps:  map[string]playbook.StepView{"flow": {Ran: true, OK: true, Status: "ok", Runs: runs, Fields: runs[1].Fields}},
		Target: playbook.TargetView{Name: name},
		Redact: strings.NewReplacer("t1", "[redacted]").Replace,
	}
}

func TestEvalCase(t *testing.T) {
	pb, err := playbook.Load("playbook/testdata/good/case.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lost := endState("fw1", [2]int{10, 30}, [2]int{5, 5})
	flat := endState("fw2", [2]int{7, 7}, [2]int{9, 9})
	healthy := endState("fw2", [2]int{7, 9}, [2]int{9, 40})
	t.Run("fires", func(t *testing.T) {
		fs, unev := engine.EvalCase(pb.Case, []*engine.EndState{lost, flat})
		if len(unev) > 0 || len(fs) != 1 {
			t.Fatalf("findings %+v, unevaluated %q", fs, unev)
		}
		f := fs[0]
		// Redacted with the ends' redactors: the tunnel stands in for a secret.
		if want := "fw1 sent 20 on [redacted], fw2 got none"; f.Message != want {
			t.Errorf("message %q, want %q", f.Message, want)
		}
		var evs []string
		for _, ev := range f.Evidence {
			evs = append(evs, ev.End+"/"+ev.Target+"/"+ev.Field)
		}
		if want := []string{"a/fw1/encap", "b/fw2/decap"}; !slices.Equal(evs, want) {
			t.Errorf("evidence %q, want %q", evs, want)
		}
	})
	t.Run("whole output", func(t *testing.T) {
		// An entry without a field names the end's output files of the step.
		pb, err := playbook.Load("playbook/testdata/good/case.yaml")
		if err != nil {
			t.Fatal(err)
		}
		f := pb.Case.Findings[0]
		f.Evidence = append(f.Evidence, playbook.Evidence{End: "b", Step: "flow"})
		b := *flat
		b.Outputs = func(step, item string) []string {
			if step == "flow" && item == "" {
				return []string{"steps/002-flow.txt", "steps/003-flow.txt"}
			}
			return nil
		}
		fs, unev := engine.EvalCase(pb.Case, []*engine.EndState{lost, &b})
		if len(unev) > 0 || len(fs) != 1 {
			t.Fatalf("findings %+v, unevaluated %q", fs, unev)
		}
		ev := fs[0].Evidence
		last := ev[len(ev)-1]
		if last.End != "b" || last.Target != "fw2" || last.Field != "" || len(last.Values) != 0 ||
			!slices.Equal(last.Outputs, []string{"steps/002-flow.txt", "steps/003-flow.txt"}) {
			t.Errorf("whole-output evidence %+v", last)
		}
		if o := ev[0].Outputs; o != nil {
			t.Errorf("an entry with a field has outputs %q", o)
		}
	})
	t.Run("silent", func(t *testing.T) {
		if fs, unev := engine.EvalCase(pb.Case, []*engine.EndState{lost, healthy}); len(fs) != 0 || len(unev) != 0 {
			t.Fatalf("findings %+v, unevaluated %q", fs, unev)
		}
	})
	for name, ends := range map[string][]*engine.EndState{
		"one target":   {lost},
		"nothing sent": {lost, nil},
	} {
		t.Run(name, func(t *testing.T) {
			fs, unev := engine.EvalCase(pb.Case, ends)
			if len(fs) != 0 || len(unev) != 1 || !strings.Contains(unev[0], "no case finding was evaluated") {
				t.Fatalf("findings %+v, unevaluated %q", fs, unev)
			}
		})
	}
}

// TestEvalCaseLets: a case finding's lets feed its when and message; a
// let that fails leaves the finding not evaluated, as a failing when
// does, and the next finding is still evaluated.
func TestEvalCaseLets(t *testing.T) {
	pb, err := playbook.Parse("lets.yaml", []byte(`name: lets
title: t
steps:
  - {id: flow, run: show flow}
case:
  ends: [a, b]
  findings:
    - id: bad-let
      severity: critical
      let:
        N: 'int(ends.a.target.name)'
      when: N > 0
      message: m
    - id: lost
      severity: warning
      let:
        SENT: 'delta(ends.a.steps.flow, "encap")'
        GOT: 'delta(ends.b.steps.flow, "decap")'
      when: SENT > 0 && GOT == 0
      message: '${ends.a.target.name} sent ${SENT}, ${ends.b.target.name} got ${GOT}'
`))
	if err != nil {
		t.Fatal(err)
	}
	fs, unev := engine.EvalCase(pb.Case, []*engine.EndState{endState("fw1", [2]int{10, 30}, [2]int{5, 5}), endState("fw2", [2]int{7, 7}, [2]int{9, 9})})
	if len(fs) != 1 || fs[0].ID != "lost" || fs[0].Message != "fw1 sent 20, fw2 got 0" {
		t.Errorf("findings %+v, want lost with its message", fs)
	}
	if len(unev) != 1 || !strings.HasPrefix(unev[0], "bad-let: let N: lets.yaml:") {
		t.Errorf("unevaluated %q, want bad-let's let N", unev)
	}
}
