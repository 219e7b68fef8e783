package playbook

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and
// it returns either a playbook or an ErrorList whose every error has a
// position in the input; what the stream of steps takes (stream.go) loads
// exactly as the whole file does.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "testdata/*/fragments/*.yaml"} {
		names, _ := filepath.Glob(glob)
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if whole, stream, ok, werr := loadBoth("fuzz.yaml", src); ok {
			if werr != nil {
				t.Fatalf("the stream loads what the whole file refuses: %v", werr)
			}
			if d := samePlaybook(whole, stream); d != "" {
				t.Fatalf("the stream loads it differently: %s", d)
			}
		}
		pb, err := Parse("fuzz.yaml", src)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			for _, e := range list {
				if e.File == "" || e.Line < 1 {
					t.Fatalf("error without a position: %q", e.Header())
				}
			}
			return
		}
		Walk(pb.Steps, func(*Step) {})
		_, _ = pb.Bind(nil)
	})
}
