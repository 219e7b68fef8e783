package playbook

import (
	"errors"
	"testing"
)

const boundsSrc = `name: bounds
title: Counts and waits from params
params:
  repeat: {type: int, default: 3}
  every: {type: duration, default: 10s}
  pause: {type: duration, default: 5s}
  deep: {type: bool, default: false}
  key: {type: secret, default: "env:NO_SUCH_KEY"}
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - run: show counter global
    repeat: {count: "${params.repeat}", interval: "${params.every}"}
  - wait: "${params.pause}"
  - if: params.deep
    then:
      - run: show session all
        repeat: {count: "${params.repeat * 100}", interval: 1s}
  - run: show vpn flow
    when: vars.tunnel != ""
    repeat: {count: "${params.repeat - 1}", interval: 1s}
  - run: show vpn ike-sa
    capture: {tunnel: 'tunnel (\S+)'}
    repeat: {count: "${len(vars.tunnel) + 1}", interval: 1s}
`

// TestBindBounds pins the refusal of counts and durations that params
// make bad, before anything is sent.
func TestBindBounds(t *testing.T) {
	pb, err := Parse("b.yaml", []byte(boundsSrc))
	if err != nil {
		t.Fatal(err)
	}
	checkBind(t, pb, []bindCase{
		{"defaults", nil, ""},
		{"negative count", map[string]string{"repeat": "-4"},
			"param repeat: b.yaml:13:24: repeat count must be at least 1, not -4 (from ${params.repeat}), and so does 1 more step"},
		{"count 1 makes the step under when 0", map[string]string{"repeat": "1"},
			"param repeat: b.yaml:21:24: repeat count must be at least 1, not 0 (from ${params.repeat - 1})"},
		{"huge count", map[string]string{"repeat": "99999999999"},
			"param repeat: b.yaml:13:24: repeat count must be at most 10000, not 99999999999 (from ${params.repeat}), and so does 1 more step"},
		{"a branch that runs", map[string]string{"repeat": "200", "deep": "true"},
			"param repeat: b.yaml:18:28: repeat count must be at most 10000, not 20000 (from ${params.repeat * 100})"},
		{"a branch that does not run", map[string]string{"repeat": "200"}, ""},
		{"long interval and wait", map[string]string{"every": "25h", "pause": "48h"},
			"param every: b.yaml:13:54: repeat interval: duration 25h is longer than 24h, the most a playbook allows (from ${params.every})\n" +
				"param pause: b.yaml:14:14: wait: duration 48h is longer than 24h, the most a playbook allows (from ${params.pause})"},
	})
}

// bindCase is a Bind of given that fails with want ("": succeeds).
type bindCase struct {
	name  string
	given map[string]string
	want  string
}

// checkBind binds pb with each case's params: its error, wrapping
// ErrParams, says exactly what the case wants.
func checkBind(t *testing.T, pb *Playbook, cases []bindCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pb.Bind(tc.given)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrParams) {
					t.Errorf("error does not wrap ErrParams: %v", err)
				}
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestBindBoundsThroughLets: a count or wait that reads a step's let of
// params is checked with the let's value and names the params the let
// reads; one that reads a let of the device's answers (or of a secret)
// waits for the run.
func TestBindBoundsThroughLets(t *testing.T) {
	pb, err := Parse("l.yaml", []byte(`name: l
title: t
params:
  pause: {type: duration, default: 5s}
  n: {type: int, default: 2}
  key: {type: secret, default: "env:NO_SUCH_KEY"}
steps:
  - wait: '${W}'
    let:
      W: 'params.pause * 2'
  - run: show a
    let:
      N: 'params.n + 1'
      M: 'N * 10'
    when: N > 2
    repeat: {count: '${M}', interval: 1s}
  - run: show b
    capture: {x: 'x (\d+)'}
  - run: show c
    let:
      X: 'int(vars.x ?? "0")'
      K: 'len(params.key)'
    repeat: {count: '${X + K}', interval: 1s}
`))
	if err != nil {
		t.Fatal(err)
	}
	checkBind(t, pb, []bindCase{
		{"defaults", nil, ""},
		{"long wait", map[string]string{"pause": "13h"},
			"param pause: l.yaml:8:14: wait: duration 26h is longer than 24h, the most a playbook allows (from ${W})"},
		{"huge count", map[string]string{"n": "2000"},
			"param n: l.yaml:16:24: repeat count must be at most 10000, not 20010 (from ${M})"},
		{"when false through a let", map[string]string{"n": "-2000"}, ""},
	})
}
