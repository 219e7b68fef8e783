package playbook

import (
	"strings"
	"testing"
)

// TestPlan pins how a dry run's plan renders: params filled in, what the
// device tells shown as such, conditions of params decided, for_each over
// params expanded, a secret never shown, and the cleanup plan without the
// undo of a step that is skipped.
func TestPlan(t *testing.T) {
	src := `name: p
title: plan
params:
  mode: {type: enum, values: [quick, full], default: quick}
  peers: {type: string, default: "a b"}
  pw: {type: secret, default: env:PW}
  n: {type: int, default: 2}
  scp_to: {type: string, default: "u@h:/x"}
steps:
  - id: first
    run:
      one_of: ["show x ${params.mode}", "show y ${ params.n * 2 }"]
    undo: {one_of: ["clear x ${params.mode}", "clear y"]}
    capture: {sid: 'id (\d+)'}
  - run: debug full
    when: params.mode == "full"
    undo: debug off
  - run: ping ${item}
    for_each: split(params.peers, " ")
  - if: params.n > 1
    then:
      - run: show session id ${vars.sid} on ${target.name}
        repeat: {count: "${params.n}", interval: 1s}
      - prompt: Go on?
        timeout: 1m
        default: abort
    else:
      - note: small
  - run: show ${target.hostname} ${params.pw}
  - export: tech-support
    scp: {to: "${params.scp_to}", password: "${params.pw}"}
cleanup:
  - run: show clock
    when: params.mode == "full"
  - run: show end
    when: steps.first.ok
`
	pb, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	values, err := pb.Bind(map[string]string{"pw": "env:SECRET_PW"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := pb.Plan("file p.yaml", PlanInput{Values: values, From: map[string]string{"pw": "given"},
		Target: PlanTarget{Name: "fw1", Transport: "ssh"}, Exports: Exports{Transport: "ssh", Interactive: true}})
	if err != nil {
		t.Fatal(err)
	}
	s := o.Steps
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("one_of", strings.Join(s[0].OneOf, " | "), "show x quick | show y 4")
	check("undo", strings.Join(s[0].UndoForms[0], " | "), "clear x quick | clear y")
	check("when false", s[1].Will+": "+s[1].Because, `skip: when params.mode == "full" is false`)
	check("items", strings.Join(s[2].Commands, " | "), "ping a | ping b")
	check("vars", s[3].Then[0].Command, "show session id <vars.sid: from step first> on fw1")
	check("repeat", s[3].Then[0].Repeat["count"], "2")
	check("else", s[3].Else[0].Will, "skip")
	check("secret", s[4].Command, "show <target.hostname: from the device> <params.pw: a secret, never shown>")
	check("pw param", *o.Params[2].Value+" "+o.Params[2].From, "env:SECRET_PW given")
	check("prompts", o.Prompts[0].Step+" "+o.Prompts[0].Message+" "+o.Prompts[0].Will, "4.2 Go on? run")
	check("export", o.Exports[0].Way+" "+o.Exports[0].Command, "scp scp export tech-support to u@h:/x")
	var plan []string
	for _, c := range o.CleanupPlan {
		plan = append(plan, c.Command+" ["+c.From+" "+c.When+"]")
	}
	check("cleanup plan", strings.Join(plan, "; "),
		"clear x quick [undo of step 1 if step 1 ran]; show end [cleanup when steps.first.ok: depends on steps.first from step first]")
	if strings.Contains(strings.Join(plan, " ")+s[4].Command+o.Exports[0].Why, "SECRET_PW") {
		t.Error("the plan shows the secret's reference in a command")
	}
}
