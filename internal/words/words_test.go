package words

import "testing"

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 commands", 1: "1 command", 3: "3 commands"} {
		if got := Count(n, "command"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
