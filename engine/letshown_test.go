package engine

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
)

// TestShowLet: a let's value as its record holds it: written as a
// template shows it, lists and maps bounded, each string redacted before
// it is cut or put together.
func TestShowLet(t *testing.T) {
	rd := &secret.Redactor{}
	rd.Add("zz-pw-4711")
	rd.Add("ab") // short: replaced as a whole token only
	long := strings.Repeat("x", 150)
	many := make([]any, 20)
	for i := range many {
		many[i] = map[string]any{"gateway": "gw" + strings.Repeat("1", i%3), "tunnel": "t1"}
	}
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "nil"},
		{"string", "10.1.1.1", "10.1.1.1"},
		{"empty string", "", `""`},
		{"int", 3, "3"},
		{"float", 2.5, "2.5"},
		{"whole float", float64(7), "7"},
		{"bool", true, "true"},
		{"list", []any{"g1", "g2"}, "[g1, g2]"},
		{"empty list", []any{}, "[]"},
		{"typed list", []string{"a", ""}, `[a, ""]`},
		{"map sorted", map[string]any{"b": 1, "a": []any{2}}, "{a: [2], b: 1}"},
		{"nil in list", []any{nil}, "[nil]"},
		{"long list", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "[1, 2, 3, 4, 5, 6, 7, 8, …2 more]"},
		{"long string", long, strings.Repeat("x", 100) + "…"},
		{"cut at a rune", strings.Repeat("x", 99) + "é", strings.Repeat("x", 99) + "…"},
		{"deep", []any{[]any{[]any{[]any{1, 2}}}}, "[[[[…2]]]]"},
		{"deep map", []any{[]any{[]any{map[string]any{"a": 1}}}}, "[[[{…1}]]]"},
		{"secret", "zz-pw-4711", secret.Placeholder},
		{"secret in a list", []any{"zz-pw-4711", "x"}, "[" + secret.Placeholder + ", x]"},
		{"secret as a key", map[string]any{"zz-pw-4711": 1}, "{" + secret.Placeholder + ": 1}"},
		{"short secret", []any{"ab", "abc"}, "[" + secret.Placeholder + ", abc]"},
		{"secret past the cut", strings.Repeat("y", 95) + "zz-pw-4711", strings.Repeat("y", 95) + "«red…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := showLet(c.v, rd.String); got != c.want {
				t.Errorf("showLet(%v) = %q, want %q", c.v, got, c.want)
			}
		})
	}
	// A list of maps read from an output stays small whatever its length.
	got := showLet(many, rd.String)
	if len(got) > letBudget+2*letStringMax || !strings.HasSuffix(got, " more]") {
		t.Errorf("a list of 20 maps: %d bytes: %s", len(got), got)
	}
	if !strings.HasPrefix(got, "[{gateway: gw, tunnel: t1}, {gateway: gw1, tunnel: t1}, ") {
		t.Errorf("a list of 20 maps: %s", got)
	}
}

// TestLetsText: a record's lets on one line.
func TestLetsText(t *testing.T) {
	if got := LetsText(nil); got != "" {
		t.Errorf("no lets: %q", got)
	}
	if got, want := LetsText([]LetValue{{Name: "GWS", Value: "[g1]"}, {Name: "N", Value: "1"}}), "GWS = [g1]; N = 1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
