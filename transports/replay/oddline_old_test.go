package replay

import (
	"bytes"
	"testing"
)

// oddLineOld is the test next made before oddLine, kept to compare with.
func oddLineOld(l []byte) bool {
	return bytes.IndexByte(l, '\r') >= 0 || bytes.Contains(l, []byte("\u0085")) || bytes.Contains(l, []byte("\u2028")) || bytes.Contains(l, []byte("\u2029"))
}

// FuzzOddLine: oddLine answers as the test it replaced.
func FuzzOddLine(f *testing.F) {
	for _, s := range []string{"", "        encap packets:          387833", "a\rb", "a\u0085b", "x\u2028", "\u2029", "\xc2", "\xe2\x80", "\xe2\x80\xa8",
		"é ü – —", "\xc2\x84", "\xe2\x80\xa7\xe2\x80\xa9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, l []byte) {
		if got, want := oddLine(l), oddLineOld(l); got != want {
			t.Fatalf("oddLine(%q) = %v, old %v", l, got, want)
		}
	})
}

func BenchmarkOddLine(b *testing.B) {
	l := []byte("        encap packets:          387833")
	for _, fn := range []struct {
		name string
		f    func([]byte) bool
	}{{"old", oddLineOld}, {"new", oddLine}} {
		b.Run(fn.name, func(b *testing.B) {
			for b.Loop() {
				if fn.f(l) {
					b.Fatal("odd")
				}
			}
		})
	}
}
