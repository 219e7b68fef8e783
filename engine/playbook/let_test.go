package playbook

import (
	"strings"
	"testing"
)

// TestFindingLets: lets are evaluated once each, in the order written,
// each seeing the ones before it, and when and message see them all; a
// let that fails makes Env fail with an error naming it.
func TestFindingLets(t *testing.T) {
	pb, err := Load("testdata/good/let.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := pb.Findings[0]
	var names []string
	for _, lt := range f.Lets {
		names = append(names, lt.Name)
	}
	if got := strings.Join(names, ","); got != "D,R" {
		t.Fatalf("lets %s, want D,R (the order written)", got)
	}
	runs := []RunView{{Fields: map[string]any{"drops": 5}}, {Fields: map[string]any{"drops": 250}}}
	env := Env(nil, nil, map[string]StepView{"flow": {Ran: true, OK: true, Runs: runs, Fields: runs[1].Fields}}, TargetView{}, nil)
	fenv, err := f.Env(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env["D"]; ok {
		t.Error("Env changed the environment it was given")
	}
	if ok, err := f.When.Bool(fenv); err != nil || !ok {
		t.Fatalf("when = %v, %v; want true", ok, err)
	}
	if msg, err := f.Message.Render(fenv); err != nil || msg != "many drops (245)" {
		t.Errorf("message %q, %v; want %q", msg, err, "many drops (245)")
	}

	// The step never ran: delta of nothing is 0, R is "some"...
	empty := Env(nil, nil, map[string]StepView{"flow": {}}, TargetView{}, nil)
	if fenv, err := f.Env(empty); err != nil || fenv["R"] != "some" {
		t.Errorf("R = %v, %v; want some", fenv["R"], err)
	}
	// ...but a step of two items mixes counters: delta fails, and so does
	// the finding, naming the let.
	two := StepView{Ran: true, Runs: runs, Items: []ItemView{{Item: "x"}, {Item: "y"}}}
	_, err = f.Env(Env(nil, nil, map[string]StepView{"flow": two}, TargetView{}, nil))
	if err == nil || !strings.HasPrefix(err.Error(), "let D: testdata/good/let.yaml:13:") {
		t.Errorf("error %v, want one naming let D at its position", err)
	}
}

// TestLetsReadSteps: what a let reads counts for ReadsStep.
func TestLetsReadSteps(t *testing.T) {
	src := `name: reads
title: t
steps:
  - {id: a, run: show a}
  - {id: b, run: show b}
  - {id: c, run: show c}
findings:
  - severity: info
    let:
      X: 'steps.b.ok'
    when: X
    message: m
case:
  ends: [x, y]
  findings:
    - severity: info
      let:
        Y: 'ends.y.steps.c.ok'
      when: Y
      message: m
`
	pb, err := Parse("reads.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, id := range []string{"a", "b", "c"} {
		if pb.ReadsStep(id) {
			got += id
		}
	}
	if got != "bc" {
		t.Errorf("reads %q, want bc", got)
	}
}
