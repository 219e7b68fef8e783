package replay

import "testing"

// TestMayHoldStatic checks that skipping the static rules on text
// mayHoldStatic refuses never changes the result: on every input the
// regexps alone and redactStatic agree, and mayHoldStatic says true
// wherever a rule matches.
func TestMayHoldStatic(t *testing.T) {
	inputs := []string{
		"show vpn flow tunnel-id 3", "show clock", "", "k", "ke", "KEY=", "key=abc", "?Key=abc", "a&API_KEY=x",
		"apikey=1", "PassWord=x", "passwd=y", "x-pan-key: abc", "X-PAN-KEY=abc", `{"x-pan-key": "v"}`,
		"Authorization: Basic YWRtaW46eA==", "AUTHORIZATION: bearer tok", "LUFRPT14MW5xOEo1R09K", "lufrpt14MW5xOEo1R09K",
		"\u212aey=abc",      // Kelvin sign: (?i) folds it to k
		"pa\u017fsword=abc", // long s: (?i) folds it to s
		"monkey=banana", "show system info", "debug ike global on debug", "x-pan-ke", "authorizatio: x", "passw",
	}
	for _, s := range inputs {
		want := s
		for _, r := range staticRules {
			want = r.re.ReplaceAllString(want, r.repl)
		}
		if got := redactStatic(s); got != want {
			t.Errorf("redactStatic(%q) = %q, want %q", s, got, want)
		}
		if want != s && !mayHoldStatic(s) {
			t.Errorf("mayHoldStatic(%q) = false, but a rule matches", s)
		}
	}
	for _, s := range []string{"show vpn flow tunnel-id 3", "show clock", "debug ike global on"} {
		if mayHoldStatic(s) {
			t.Errorf("mayHoldStatic(%q) = true, want false", s)
		}
	}
}
