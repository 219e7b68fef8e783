package playbook

import (
	"slices"
	"testing"
)

// TestReadsStep: a step is read when an expression names it (steps.ID,
// steps["ID"], ends.E.steps.ID) or a finding's evidence does; any other
// use of steps, ends or $env reads every step; a playbook not made by
// Load reads every step.
func TestReadsStep(t *testing.T) {
	const steps = `steps:
  - id: a
    run: show a
  - id: b
    run: show b
  - id: c
    run: show c
`
	tests := []struct {
		name, extra string
		read        string // the steps read, "abc" for all
	}{
		{"none", "", ""},
		{"when", "  - id: d\n    run: show d\n    when: steps.a.ok\n", "a"},
		{"index", "  - id: d\n    run: show d\n    when: 'steps[\"b\"].ok'\n", "b"},
		{"optional", "  - id: d\n    run: show d\n    when: 'steps?.b?.ok ?? false'\n", "b"},
		{"template", "  - id: d\n    run: 'show ${steps.c.fields.x}'\n", "c"},
		{"function", "  - id: d\n    run: show d\n    when: 'delta(steps.a, \"x\") > 0'\n", "a"},
		{"capture", "  - id: d\n    run: show d\n    capture:\n      v: {expr: 'steps.b.text'}\n", "b"},
		{"finding", "findings:\n  - id: f\n    severity: info\n    when: 'steps.a.fields.x > 0'\n    message: 'x ${steps.b.fields.x}'\n    evidence:\n      - {step: c, field: x}\n", "abc"},
		{"evidence only", "findings:\n  - id: f\n    severity: info\n    when: 'true'\n    message: m\n    evidence:\n      - {step: c}\n", "c"},
		{"a step's own output", "  - id: d\n    run: show d\n    until: 'output.text != \"\"'\n    retry: {max: 2, interval: 1s}\n", ""},
		{"whole map", "  - id: d\n    run: show d\n    when: 'len(steps) > 0'\n", "abc"},
		{"dynamic index", "  - id: d\n    run: show d\n    when: 'steps[target.name].ok'\n", "abc"},
		{"in", "  - id: d\n    run: show d\n    when: '\"a\" in steps'\n", "abc"},
		{"env", "  - id: d\n    run: show d\n    when: '$env.steps.a.ok'\n", "abc"},
		{"case", "case:\n  ends: [x, y]\n  findings:\n    - id: f\n      severity: info\n      when: 'ends.x.steps.b.ok && ends.y.target.name != \"\" && ends.y.params != nil'\n      message: m\n", "b"},
		{"case whole end", "case:\n  ends: [x, y]\n  findings:\n    - id: f\n      severity: info\n      when: 'ends.x != nil'\n      message: m\n", "abc"},
		{"case whole steps", "case:\n  ends: [x, y]\n  findings:\n    - id: f\n      severity: info\n      when: 'len(ends.x.steps) > 0'\n      message: m\n", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: reads\ntitle: t\n" + steps
			src += tt.extra
			pb, err := Parse("reads.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			got := ""
			for _, id := range []string{"a", "b", "c"} {
				if pb.ReadsStep(id) {
					got += id
				}
			}
			if got != tt.read {
				t.Errorf("reads %q, want %q\n%s", got, tt.read, src)
			}
		})
	}
	if pb := (&Playbook{}); !pb.ReadsStep("x") {
		t.Error("a playbook not loaded reads no step")
	}
}

// TestAliasedStepsDecodeTwice: a step written once with an anchor and
// used again through an alias (an if with its then: list among them) is
// decoded each time it is used: the nodes decoded steps drops are never
// those of a file with anchors.
func TestAliasedStepsDecodeTwice(t *testing.T) {
	src := `name: aliased
title: steps used twice
steps:
  - &check
    if: 'true'
    then:
      - run: show clock
      - run: show system info
  - *check
  - &flow
    run: show vpn flow
  - *flow
`
	pb, err := Parse("aliased.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	Walk(pb.Steps, func(s *Step) {
		if s.Run != nil {
			got = append(got, s.Run.Src)
		}
	})
	want := []string{"show clock", "show system info", "show clock", "show system info", "show vpn flow", "show vpn flow"}
	if !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
}
