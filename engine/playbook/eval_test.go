package playbook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
)

func mustParse(t *testing.T, src string) *Playbook {
	t.Helper()
	pb, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pb
}

func TestRuntimeHelpers(t *testing.T) {
	pb := mustParse(t, `
name: rt
title: runtime
params:
  n: {type: int, default: 3}
  d: {type: duration, default: 1m30s}
  f: {type: string, default: "1.5"}
  ds: {type: string, default: "20s"}
steps:
  - id: a
    run: "n=${params.n} half=${params.n / 2} whole=${params.n * 2.0} d=${params.d} f=${num(params.f)} nil=${nil} lit=$${x} b=${params.n > 2}"
    repeat: {count: "${params.n + 1}", interval: "${params.d * 2}"}
    until: output.text contains "ok"
    retry: {max: 2, interval: 1s}
  - wait: ${params.ds}
  - run: static text
`)
	params, err := pb.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := Env(params, nil, nil, TargetView{}, nil)
	s := pb.Steps[0]
	got, err := s.Run.Render(env)
	if err != nil {
		t.Fatal(err)
	}
	want := "n=3 half=1.5 whole=6 d=1m30s f=1.5 nil= lit=${x} b=true"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
	if s.Run.Static() || !pb.Steps[2].Run.Static() {
		t.Error("Static is wrong")
	}
	if c, err := s.Repeat.Count.Eval(env); err != nil || c != 4 {
		t.Errorf("Count.Eval = %d, %v; want 4", c, err)
	}
	if d, err := s.Repeat.Interval.Eval(env); err != nil || d != 3*time.Minute {
		t.Errorf("Interval.Eval = %v, %v; want 3m", d, err)
	}
	if d, err := pb.Steps[1].Wait.Eval(env); err != nil || d != 20*time.Second {
		t.Errorf("Wait.Eval = %v, %v; want 20s", d, err)
	}
	out := Env(params, nil, nil, TargetView{}, &RunView{Text: "all ok"})
	if ok, err := s.Until.Bool(out); err != nil || !ok {
		t.Errorf("Until.Bool = %v, %v; want true", ok, err)
	}
	out = Env(params, nil, nil, TargetView{}, &RunView{Text: "down"})
	if ok, err := s.Until.Bool(out); err != nil || ok {
		t.Errorf("Until.Bool = %v, %v; want false", ok, err)
	}
	// A duration string of the wrong form fails at run time, with position.
	bad := Env(map[string]any{"n": 3, "d": time.Minute, "f": "", "ds": "-1s"}, nil, nil, TargetView{}, nil)
	if _, err := pb.Steps[1].Wait.Eval(bad); err == nil || !strings.HasPrefix(err.Error(), "test.yaml:15:") {
		t.Errorf("Wait.Eval with -1s: err = %v, want a positioned error", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{3, "3"}, {3.0, "3"}, {2.5, "2.5"}, {int64(7), "7"}, {true, "true"}, {nil, ""},
		{10 * time.Second, "10s"}, {5 * time.Minute, "5m"}, {90 * time.Minute, "1h30m"}, {time.Hour, "1h"},
		{1500 * time.Millisecond, "1.5s"}, {"x", "x"}, {[]int{1, 2}, "[1 2]"},
	} {
		if got := FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestBind(t *testing.T) {
	pb := mustParse(t, `
name: bind
title: bind
params:
  tunnel:   {type: string, required: true, description: IPSec tunnel name}
  peer_ip:  {type: ip, required: true}
  subnet:   {type: cidr}
  count:    {type: int, default: 3}
  interval: {type: duration, default: 10s}
  verbose:  {type: bool}
  mode:     {type: enum, values: [quick, full], default: quick}
  pw:       {type: secret, default: "env:PW"}
  key:      {type: secret}
steps:
  - run: show clock
`)
	got, err := pb.Bind(map[string]string{"tunnel": "t1", "peer_ip": "10.1.1.1", "mode": "full", "subnet": "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"tunnel": "t1", "peer_ip": "10.1.1.1", "subnet": "10.0.0.0/8", "count": 3,
		"interval": 10 * time.Second, "verbose": false, "mode": "full",
		"pw": secret.Ref{Kind: "env", Name: "PW"}, "key": secret.Ref{},
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Bind gave %d values, want %d", len(got), len(want))
	}

	_, err = pb.Bind(map[string]string{"tunel": "x", "peer_ip": "10.1.1.300", "count": "three",
		"interval": "0s", "mode": "slow", "pw": "hunter2", "subnet": "10.0.0.1", "zzzz": "1"})
	if !errors.Is(err, ErrParams) {
		t.Fatalf("err = %v, want ErrParams", err)
	}
	wantErr := `param tunel: unknown parameter (did you mean tunnel?)
param zzzz: unknown parameter; known: tunnel, peer_ip, subnet, count, interval, verbose, mode, pw, key
param tunnel: required (IPSec tunnel name)
param peer_ip: "10.1.1.300" is not an IP address
param subnet: "10.0.0.1" is not a CIDR prefix such as 10.0.0.0/24
param count: "three" is not an integer
param interval: duration "0s" must be greater than zero
param mode: "slow" is not one of quick, full
param pw: ` + secret.ErrLiteral.Error()
	if err.Error() != wantErr {
		t.Errorf("Bind errors:\n%s\nwant:\n%s", err, wantErr)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("a secret was echoed in an error")
	}
}

func TestWalk(t *testing.T) {
	pb := mustParse(t, `
name: walk
title: walk
steps:
  - id: a
    run: x
  - if: true
    then:
      - id: b
        run: x
      - if: false
        then: [{id: c, run: x}]
        else: [{id: d, run: x}]
    else:
      - {id: e, note: hi}
  - {id: f, wait: 1s}
`)
	var ids []string
	Walk(pb.Steps, func(s *Step) { ids = append(ids, s.ID+":"+string(s.Kind)) })
	got := strings.Join(ids, " ")
	want := "a:run :if b:run :if c:run d:run e:note f:wait"
	if got != want {
		t.Errorf("Walk order = %q, want %q", got, want)
	}
}

func TestLoadModel(t *testing.T) {
	pb, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.SHA256) != 64 || pb.Name != "phase2-down" || pb.Timeout != 45*time.Second {
		t.Errorf("metadata: %q %q %v", pb.SHA256, pb.Name, pb.Timeout)
	}
	// The include expanded in place, positions in the fragment.
	s := pb.Steps[1]
	if s.Run.Src != "debug ike pcap on" || s.File != "testdata/good/fragments/debug-on.yaml" || s.Line != 3 {
		t.Errorf("included step = %q at %v", s.Run.Src, s.Pos)
	}
	if len(pb.Steps[2].Undo) != 2 {
		t.Errorf("undo list = %d entries, want 2", len(pb.Steps[2].Undo))
	}
	var answer *Answer
	var export *Export
	Walk(pb.Steps, func(s *Step) {
		if len(s.Prompts) > 0 {
			answer = s.Prompts[0]
		}
		if s.Export != nil && s.Export.ScpTo != nil {
			export = s.Export
		}
	})
	if answer == nil || !answer.Secret {
		t.Error("an answer interpolating a secret param is not marked Secret")
	}
	if export == nil || export.Category != "debug-pcap" || export.File.Src != "ikemgr.pcap" {
		t.Errorf("export = %+v", export)
	}
	if p := pb.Steps[3]; p.Kind != KindPrompt || p.PromptTimeout != 10*time.Minute || p.Default != "continue" {
		t.Errorf("prompt step = %+v", p)
	}
}

// TestBindRequiredEmpty: `-p tunnel=` gives a required parameter no value;
// for a secret it would silently mean no secret at all.
func TestBindRequiredEmpty(t *testing.T) {
	pb := mustParse(t, `
name: bind
title: bind
params:
  tunnel: {type: string, required: true}
  pw:     {type: secret, required: true}
  note:   {type: string}
steps:
  - run: show clock
`)
	_, err := pb.Bind(map[string]string{"tunnel": "", "pw": "", "note": ""})
	want := "param tunnel: required, but given an empty value\nparam pw: required, but given an empty value"
	if err == nil || err.Error() != want || !errors.Is(err, ErrParams) {
		t.Errorf("Bind errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestItems(t *testing.T) {
	tests := []struct {
		in   any
		want []string
		err  string
	}{
		{in: nil},
		{in: []any{}, want: nil},
		{in: []any{"207", 208, 209.0, int64(210), "207"}, want: []string{"207", "208", "209", "210"}},
		{in: []string{"vpn_TEST:Red_1", "vpn_TEST:Blue_2"}, want: []string{"vpn_TEST:Red_1", "vpn_TEST:Blue_2"}},
		{in: [2]int{1, 2}, want: []string{"1", "2"}},
		{in: "207", err: "want a list, got string"},
		{in: map[string]any{"a": 1}, err: "want a list, got map[string]interface {}"},
		{in: []any{"a", true}, err: "item 2 is bool, want a string or a number"},
		{in: []any{"a", nil}, err: "item 2 is nil, want a string or a number"},
		{in: []any{""}, err: "item 1 is an empty string"},
	}
	for _, tc := range tests {
		got, err := Items(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Items(%v): err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Items(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	many := make([]int, MaxItems+1)
	for i := range many {
		many[i] = i
	}
	if _, err := Items(many); err == nil || err.Error() != "65 items, more than the 64 a step may run for" {
		t.Errorf("Items(65 numbers): err %v", err)
	}
	if got, err := Items(many[:MaxItems]); err != nil || len(got) != MaxItems {
		t.Errorf("Items(64 numbers): %d, %v", len(got), err)
	}
}

// TestItemHelpers: samples, delta and rate take one item of a for_each
// step; given the step itself they refuse to mix its items' runs.
func TestItemHelpers(t *testing.T) {
	pb := mustParse(t, `
name: items
title: items
steps:
  - id: flow
    run: show vpn flow tunnel-id ${item}
    for_each: '["1", "2"]'
findings:
  - id: per-item
    severity: info
    when: any(steps.flow.items, delta(#, "encap") > 0 && delta(#, "decap") == 0)
    message: ${join(map(filter(steps.flow.items, delta(#, "decap") == 0), .item), ",")}
  - id: mixed
    severity: info
    when: delta(steps.flow, "encap") > 0
    message: x
`)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(item string, sec int, encap, decap int) RunView {
		return RunView{Item: item, Time: t0.Add(time.Duration(sec) * time.Second), Fields: map[string]any{"encap": encap, "decap": decap}}
	}
	a := []RunView{run("1", 0, 10, 5), run("1", 10, 20, 9)} // both ways
	b := []RunView{run("2", 1, 7, 3), run("2", 11, 9, 3)}   // decap flat
	sv := StepView{Ran: true, OK: true, Status: "ok", Runs: []RunView{a[0], b[0], a[1], b[1]},
		Items: []ItemView{{Item: "1", Runs: a}, {Item: "2", Runs: b}}}
	env := Env(nil, nil, map[string]StepView{"flow": sv}, TargetView{}, nil)
	if ok, err := pb.Findings[0].When.Bool(env); err != nil || !ok {
		t.Errorf("per-item finding: %v, %v; want true", ok, err)
	}
	if msg, err := pb.Findings[0].Message.Render(env); err != nil || msg != "2" {
		t.Errorf("per-item message %q, %v; want 2", msg, err)
	}
	_, err := pb.Findings[1].When.Bool(env)
	want := `delta: the step ran for 2 items (for_each), whose runs must not be mixed: give one item, as in any(steps.ID.items, delta(#, "encap") > 0)`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "test.yaml:15:") {
		t.Errorf("delta on a 2-item step: err %v, want it to contain %q", err, want)
	}
	if got := Rate(StepView{Runs: a}, "encap"); got != 1 {
		t.Errorf("rate of item 1 = %v, want 1", got)
	}
	// One item: the step's runs are that item's, delta works on the step.
	one := StepView{Runs: a, Items: []ItemView{{Item: "1", Runs: a}}}
	env = Env(nil, nil, map[string]StepView{"flow": one}, TargetView{}, nil)
	if ok, err := pb.Findings[1].When.Bool(env); err != nil || !ok {
		t.Errorf("delta on a 1-item step: %v, %v; want true", ok, err)
	}
}

// TestWithinOverlaps: within and overlaps read addresses, prefixes and the
// ranges of show vpn ike-sa detail's traffic selectors.
func TestWithinOverlaps(t *testing.T) {
	pb := mustParse(t, `
name: nets
title: nets
params:
  x: {type: string}
  y: {type: string}
steps:
  - note: x
findings:
  - id: w
    severity: info
    when: within(params.x, params.y)
    message: x
  - id: o
    severity: info
    when: overlaps(params.x, params.y)
    message: x
`)
	for _, c := range []struct {
		x, y      string
		within, o bool
	}{
		{"192.168.10.10", "192.168.10.0/24", true, true},
		{"192.168.11.10", "192.168.10.0/24", false, false},
		{"192.168.10.0/24", "192.168.8.0/21", true, true},
		{"192.168.8.0/21", "192.168.10.0/24", false, true},
		{"192.168.10.5/24", "192.168.10.0-192.168.10.255", true, true}, // host bits ignored
		{"0.0.0.0-255.255.255.255", "0.0.0.0/0", true, true},
		{"10.0.0.0-10.0.0.9", "10.0.0.5-10.0.0.20", false, true},
		{"10.0.0.0-10.0.0.4", "10.0.0.5-10.0.0.20", false, false},
		{"10.0.0.9-10.0.0.1", "0.0.0.0/0", false, false}, // reversed: not a range
		{"::/0", "0.0.0.0/0", false, false},              // families differ
		{"2001:db8::1", "2001:db8::/32", true, true},
		{"", "0.0.0.0/0", false, false},
		{"Proto:any", "0.0.0.0/0", false, false},
	} {
		env := Env(map[string]any{"x": c.x, "y": c.y}, nil, nil, TargetView{}, nil)
		if got, err := pb.Findings[0].When.Bool(env); err != nil || got != c.within {
			t.Errorf("within(%q, %q) = %v, %v; want %v", c.x, c.y, got, err, c.within)
		}
		if got, err := pb.Findings[1].When.Bool(env); err != nil || got != c.o {
			t.Errorf("overlaps(%q, %q) = %v, %v; want %v", c.x, c.y, got, err, c.o)
		}
	}
}
