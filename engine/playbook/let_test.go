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

// TestStepLets: a step's lets are evaluated in the order written, each
// seeing the ones before it, against the environment the step is reached
// in; its when and templates see them; a let of a secret makes a prompt
// answer that uses it secret (show never renders it); a let that fails
// names itself and its position.
func TestStepLets(t *testing.T) {
	pb, err := Load("testdata/good/step-let.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ike := pb.Steps[1]
	if got := strings.Join(letNames(ike.Lets), ","); got != "GWS,GW" {
		t.Fatalf("lets %s, want GWS,GW (the order written)", got)
	}
	params := map[string]any{"tunnel": "t1", "level": "normal", "password": "pw"}
	sa := StepView{Ran: true, OK: true, Fields: map[string]any{"entries": []any{
		map[string]any{"tunnel": "t0", "gateway": "g0"},
		map[string]any{"tunnel": "t1", "gateway": "g1"},
	}}}
	env := Env(params, nil, map[string]StepView{"sa": sa}, TargetView{}, nil)
	senv, err := ike.Env(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env["GW"]; ok {
		t.Error("Env changed the environment it was given")
	}
	if ok, err := ike.When.Bool(senv); err != nil || !ok {
		t.Errorf("when = %v, %v; want true", ok, err)
	}
	if cmd, err := ike.Run.Render(senv); err != nil || cmd != "show vpn ike-sa detail gateway g1" {
		t.Errorf("run %q, %v", cmd, err)
	}
	if u, err := ike.Undo[0][0].Render(senv); err != nil || u != "clear vpn ike-sa gateway g1" {
		t.Errorf("undo %q, %v", u, err)
	}
	// No SA of the tunnel: GW is "", when is false.
	none := Env(params, nil, map[string]StepView{"sa": {Ran: true}}, TargetView{}, nil)
	if senv, err := ike.Env(none); err != nil || senv["GW"] != "" {
		t.Errorf("GW = %v, %v; want empty", senv["GW"], err)
	} else if ok, err := ike.When.Bool(senv); err != nil || ok {
		t.Errorf("when = %v, %v; want false", ok, err)
	}

	level := pb.Steps[2]
	if !level.Prompts[0].Secret {
		t.Error("the prompt answer ${PW}, PW a let of a secret param, is not marked secret")
	}

	// A let that fails names itself.
	bad, err := Parse("bad.yaml", []byte("name: b\ntitle: t\nsteps:\n  - let:\n      N: 'int(params.x)'\n    run: show ${N}\nparams:\n  x: {type: string, default: 'no'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Steps[0].Env(Env(map[string]any{"x": "no"}, nil, nil, TargetView{}, nil))
	if err == nil || !strings.HasPrefix(err.Error(), "let N: bad.yaml:5:11: int(params.x)") {
		t.Errorf("error %v, want one naming let N at its position", err)
	}
}

// TestReadsName: a let is read by name, not as a field or a longer word.
func TestReadsName(t *testing.T) {
	for src, want := range map[string]bool{
		"PW": true, "x + PW": true, "f(PW)": true, "PW2": false, "XPW": false,
		"steps.PW": false, "PW.x": true, "": false,
	} {
		if got := readsName(src, "PW"); got != want {
			t.Errorf("readsName(%q, PW) = %v, want %v", src, got, want)
		}
	}
}
