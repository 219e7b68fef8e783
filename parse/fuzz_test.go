package parse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedTexts adds every text sample of testdata to f under every parser.
func seedTexts(f *testing.F, withData bool) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		s := sample(f, filepath.Base(p))
		if strings.HasSuffix(p, ".xml") != withData {
			continue
		}
		for i := range Names {
			f.Add(uint8(i), s)
		}
	}
}

// checkResult fails unless a result holds only the promised types.
func checkResult(t *testing.T, name string, got map[string]any, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrNotOutput) {
			t.Fatalf("%s: error not wrapping ErrNotOutput: %v", name, err)
		}
		return
	}
	if got == nil {
		t.Fatalf("%s: nil result without error", name)
	}
	if _, err := render(got); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// FuzzParse runs every parser over arbitrary text: it must not panic, and
// must return either an ErrNotOutput error or fields of the promised types.
func FuzzParse(f *testing.F) {
	seedTexts(f, false)
	f.Fuzz(func(t *testing.T, which uint8, text string) {
		name := Names[int(which)%len(Names)]
		got, err := Parse(name, text, nil)
		checkResult(t, name, got, err)
	})
}

// FuzzParseXML does the same for structured answers, decoded from arbitrary
// XML the way the API transport hands them over.
func FuzzParseXML(f *testing.F) {
	seedTexts(f, true)
	f.Fuzz(func(t *testing.T, which uint8, doc string) {
		data, err := decodeResult(doc)
		if err != nil {
			return
		}
		name := Names[int(which)%len(Names)]
		got, err := Parse(name, "", data)
		checkResult(t, name, got, err)
	})
}

// TestTotal feeds each parser odd inputs that once tripped table and
// key-value code: empty, headers without rows, ragged rows, tabs, CRLF.
func TestTotal(t *testing.T) {
	inputs := []string{
		"", "\n\n", ":", "::::", "a:", " : x", "-----", "x\n-----\n", "\t\t-- --\n",
		"GwID/client IP  TnID\n--------------  ----\n1\n",
		"h1 h2\n-- --\n" + strings.Repeat("x", 300) + "\n",
		"core 0 1\n * *\n", "CPU load (%) during last 5 seconds:\n  12 13 14\n",
		"Resource utilization (%) during last 5 seconds:\n 5 6\n", "[ 1] x : 5/0\n[ 2] : 1/2\n",
		"name value rate severity\n---\nflow_x 99999999999999999999 1 drop\n",
		"DP :\n", "a\r\nb: c\r\n", "1 2 3 4 5[\n", "20 a b c d e[1]/z/1 (x\nvsys1 y\n",
		"packets received\n  when:\n    deeper:1\n",
	}
	data := []any{nil, "", "Thu Aug 27 10:00:00 UTC 2026", map[string]any{}, []any{},
		map[string]any{"entries": "x"}, map[string]any{"entry": []any{"a", map[string]any{}}},
		map[string]any{"global": map[string]any{"counters": map[string]any{"entry": []any{map[string]any{"name": []any{}}}}}},
		map[string]any{"resource-monitor": map[string]any{"data-processors": map[string]any{"dp0": "x"}}},
	}
	for _, name := range Names {
		for i, in := range inputs {
			for j, d := range data {
				t.Run(fmt.Sprintf("%s/%d/%d", name, i, j), func(t *testing.T) {
					got, err := Parse(name, in, d)
					checkResult(t, name, got, err)
				})
			}
		}
	}
}
