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
