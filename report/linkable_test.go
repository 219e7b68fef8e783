package report

import (
	"regexp"
	"strings"
	"testing"
)

// safeRel is the shape linkable checks by hand, as it checked it before.
var safeRel = regexp.MustCompile(`^(steps|artifacts)/[A-Za-z0-9._-]+$`)

func linkableByRegexp(p string) bool { return safeRel.MatchString(p) && !strings.Contains(p, "..") }

var linkableCases = []string{"", "steps/", "steps/001-s1.txt", "artifacts/a.tgz", "artifacts/", "steps/../x", "steps/a..b",
	"steps/a/b", "steps/a b", "Steps/a", "/steps/a", "steps/a\n", "steps/é", "steps/a:b", "http://x/steps/a", "steps/._-Az09", "artifactsx/a", "steps"}

// TestLinkableAsRegexp: linkable decides as the regexp it replaced.
func TestLinkableAsRegexp(t *testing.T) {
	for _, p := range linkableCases {
		if got, want := linkable(p), linkableByRegexp(p); got != want {
			t.Errorf("linkable(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzLinkable(f *testing.F) {
	for _, p := range linkableCases {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := linkable(p), linkableByRegexp(p); got != want {
			t.Fatalf("linkable(%q) = %v, want %v", p, got, want)
		}
	})
}
