package engine

import (
	"fmt"
	"regexp"
	"testing"
)

// unsafeRuns is what replaceUnsafe replaces, as the regexp it replaced.
var unsafeRuns = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

var safeNameCases = []string{"", "s1", "show vpn flow", "a--b", "-.x.-", "é", "aé b", "bad \xff\xfe utf8", "a/b\\c:d", "x\u2028y", "..", "日本語", "tab\there", "ok_1.2-3"}

// TestReplaceUnsafeAsRegexp: replaceUnsafe replaces as the regexp did.
func TestReplaceUnsafeAsRegexp(t *testing.T) {
	for _, s := range safeNameCases {
		if got, want := replaceUnsafe(s), unsafeRuns.ReplaceAllString(s, "-"); got != want {
			t.Errorf("replaceUnsafe(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzReplaceUnsafe(f *testing.F) {
	for _, s := range safeNameCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := replaceUnsafe(s), unsafeRuns.ReplaceAllString(s, "-"); got != want {
			t.Fatalf("replaceUnsafe(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestStepFileAsSprintf: stepFile names as the format it replaced.
func TestStepFileAsSprintf(t *testing.T) {
	for _, seq := range []int{-12, -1, 0, 1, 9, 10, 99, 100, 999, 1000, 12345, 1 << 40} {
		for _, label := range []string{"", "s1"} {
			for _, suffix := range []string{"", "-eth1-1"} {
				if got, want := stepFile(seq, label, suffix), fmt.Sprintf("steps/%03d-%s.txt", seq, label+suffix); got != want {
					t.Errorf("stepFile(%d, %q, %q) = %q, want %q", seq, label, suffix, got, want)
				}
			}
		}
	}
}
