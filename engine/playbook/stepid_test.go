package playbook

import (
	"regexp"
	"testing"
)

// TestStepIDAsRegexp: stepID accepts what the regexp it replaced did.
func TestStepIDAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9_]+$`)
	for _, id := range []string{"", "s1", "_", "a_b_9", "A", "a-b", "a b", "é", "a\n", "\na", "s1\x00", "0"} {
		if got, want := stepID(id), re.MatchString(id); got != want {
			t.Errorf("stepID(%q) = %v, want %v", id, got, want)
		}
	}
}
