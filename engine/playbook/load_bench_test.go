package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadLong loads a playbook of 10,000 command steps, as
// report's BenchmarkReplayEndToEnd writes it, and reports µs per step.
//
//	go test ./engine/playbook -run '^$' -bench LoadLong
func BenchmarkLoadLong(b *testing.B) {
	const n = 10000
	var src strings.Builder
	src.WriteString("name: big\ntitle: Load benchmark\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&src, "  - id: s%d\n    run: show vpn flow tunnel-id %d\n    parse: keyvalue\n", i, i)
		if i%10 == 0 {
			fmt.Fprintf(&src, "    undo: debug off %d\n", i)
		}
	}
	path := filepath.Join(b.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/step")
}
