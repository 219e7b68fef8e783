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

// TestPlanStepLets: a dry run evaluates a step's lets as far as it can
// without the device: a let of params has its value, and the when,
// command, wait and undo that read it are rendered with it; a let of the
// device's answers (or of a secret) says what it depends on, and so does
// everything that reads it; a skipped step's lets do not leak into the
// next step.
func TestPlanStepLets(t *testing.T) {
	pb, err := Load("testdata/good/step-let.yaml")
	if err != nil {
		t.Fatal(err)
	}
	values, err := pb.Bind(map[string]string{"password": "env:SECRET_PW", "level": "high"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := pb.Plan("file step-let.yaml", PlanInput{Values: values, Target: PlanTarget{Name: "fw1", Transport: "ssh"}})
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
	lets := func(v *OutlineStep) string {
		var out []string
		for _, lt := range v.Let {
			if lt.Value != nil {
				out = append(out, lt.Name+"="+*lt.Value)
			} else {
				out = append(out, lt.Name+" depends on "+lt.Depends)
			}
		}
		return strings.Join(out, "; ")
	}
	check("ike lets", lets(s[1]), "GWS depends on steps.sa from step sa; GW depends on steps.sa from step sa")
	check("ike when", s[1].Will+": "+s[1].Because, "depends: depends on steps.sa from step sa")
	check("ike command", s[1].Command, "show vpn ike-sa detail gateway <GW: steps.sa from step sa>")
	check("ike undo", s[1].UndoForms[0][0], "clear vpn ike-sa gateway <GW: steps.sa from step sa>")
	check("level lets", lets(s[2]), "L=high; PW depends on params.password: a secret, never shown")
	check("level command", s[2].Command, "debug ike global on high")
	check("level answer", strings.Join(s[2].Prompts, ""), "Password: -> ${PW} (secret)")
	check("note", s[3].Message, "tunnel t1 has <N: steps.sa from step sa> SAs")
	check("wait", s[4].Wait+" "+s[4].Message, "1s waiting 1s")
	if strings.Contains(lets(s[3]), "GW") || strings.Contains(lets(s[3]), "L=") {
		t.Errorf("step 4 sees the lets of another step: %s", lets(s[3]))
	}
}
