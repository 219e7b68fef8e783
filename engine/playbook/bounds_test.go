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
	for _, tc := range []struct {
		name  string
		given map[string]string
		want  string
	}{
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
	} {
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
