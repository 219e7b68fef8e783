package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// stepFileOld is stepFile as it was before it built the name on the stack.
func stepFileOld(seq int, label, suffix string) string {
	if seq < 0 {
		return fmt.Sprintf("steps/%03d-%s.txt", seq, label+suffix)
	}
	b := make([]byte, 0, len("steps/000-.txt")+20+len(label)+len(suffix))
	b = append(b, "steps/"...)
	if seq < 100 {
		b = append(b, '0')
	}
	if seq < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, '-')
	b = append(b, label...)
	b = append(b, suffix...)
	b = append(b, ".txt"...)
	return string(b)
}

// TestStepFileSameAsOld pins that stepFile names a file as it did, for
// short and long labels and every width of seq.
func TestStepFileSameAsOld(t *testing.T) {
	for _, seq := range []int{-12, -1, 0, 1, 9, 10, 99, 100, 999, 1000, 12345, 1 << 40} {
		for _, label := range []string{"", "s1", "show-vpn-flow", strings.Repeat("x", 60), strings.Repeat("long-label", 30)} {
			for _, suffix := range []string{"", ".2", "-run3-try2"} {
				if got, want := stepFile(seq, label, suffix), stepFileOld(seq, label, suffix); got != want {
					t.Errorf("stepFile(%d, %q, %q) = %q, old %q", seq, label, suffix, got, want)
				}
			}
		}
	}
}

// BenchmarkStepFile names a step's file, as stepFile does and as the old
// one did.
func BenchmarkStepFile(b *testing.B) {
	for _, c := range []struct {
		name string
		f    func(int, string, string) string
	}{{"new", stepFile}, {"old", stepFileOld}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.f(1234, "s1233", "")
			}
		})
	}
}
