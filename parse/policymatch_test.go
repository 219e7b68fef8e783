package parse

import (
	"strings"
	"testing"
)

// TestSecurityPolicyMatch pins what a finding may say: "no rule matches" on
// an empty answer, "denied by rule NAME (index N)" only when the answer
// prints a deny, drop or reset action, and an unknown action over the
// rules/entry shape of the XML API.
func TestSecurityPolicyMatch(t *testing.T) {
	real := sample(t, "test_security-policy-match.txt")
	deny := strings.Replace(real, "action allow;", "action deny;", 1)
	reset := strings.Replace(real, "action allow;", "action reset-both;", 1)
	for _, c := range []struct {
		name    string
		text    string
		data    any
		matched bool
		action  string
		denied  bool
		first   string
		index   int64
	}{
		{"allow", real, nil, true, "allow", false, "Allow 10.125.100.58-To-Google DNS", 1},
		{"deny", deny, nil, true, "deny", true, "Allow 10.125.100.58-To-Google DNS", 1},
		{"reset", reset, nil, true, "reset-both", true, "Allow 10.125.100.58-To-Google DNS", 1},
		{"empty text", "", nil, false, "", false, "", 0},
		{"empty xml result", "", "", false, "", false, "", 0},
		{"empty rules", "", map[string]any{"rules": ""}, false, "", false, "", 0},
		{"entry without action", "", map[string]any{"rules": map[string]any{"entry": "deny all and log; index: 3"}},
			true, "", false, "deny all and log", 3},
		{"msg line", "", map[string]any{"msg": map[string]any{"line": deny}}, true, "deny", true,
			"Allow 10.125.100.58-To-Google DNS", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse("security-policy-match", c.text, c.data)
			if err != nil {
				t.Fatal(err)
			}
			first := got["first"].(map[string]any)
			if got["matched"] != c.matched || got["action"] != c.action || got["denied"] != c.denied ||
				first["name"] != c.first || first["index"] != c.index || first["action"] != c.action {
				t.Errorf("got matched %v action %q denied %v first %v", got["matched"], got["action"], got["denied"], first)
			}
		})
	}
}
