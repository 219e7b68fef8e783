package playbook

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadLong loads a playbook of 10,000 command steps, as
// report's BenchmarkReplayEndToEnd writes it, and reports µs per step.
//
//	go test ./engine/playbook -run '^$' -bench LoadLong
func BenchmarkLoadLong(b *testing.B) {
	const n = 10000
	path := filepath.Join(b.TempDir(), "big.yaml")
	if err := os.WriteFile(path, benchSteps(n), 0o644); err != nil {
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
