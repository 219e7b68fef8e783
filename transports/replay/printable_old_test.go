package replay

import (
	"testing"
	"unicode/utf8"
)

// printableOld is printable as it was before it took eight ASCII bytes at
// once, kept to compare with.
func printableOld(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return false
		case r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff, r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
			return false
		}
		i += n
	}
	return true
}

// TestPrintableEveryByte puts every byte value at every place of a word,
// and at the end, of an otherwise printable text: printable answers as
// printableOld does.
func TestPrintableEveryByte(t *testing.T) {
	for c := range 256 {
		for n := 1; n <= 20; n++ {
			for at := range n {
				b := make([]byte, n)
				for i := range b {
					b[i] = 'a' + byte(i%26)
				}
				b[at] = byte(c)
				if got, want := printable(b), printableOld(b); got != want {
					t.Fatalf("printable(%q) = %v, printableOld %v", b, got, want)
				}
			}
		}
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "show vpn flow tunnel-id 207", "        encap packets:          387833",
		"\ttab\tin\twords", "héllo wörld, 8 bytes+", "a\u2028b", "\xef\xbb\xbfbom", "\x7fdel in the first word", "12345678\x1f", "12345678\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := printable(b), printableOld(b); got != want {
			t.Fatalf("printable(%q) = %v, printableOld %v", b, got, want)
		}
	})
}

func BenchmarkPrintable(b *testing.B) {
	line := []byte("        encap packets:          387833")
	for _, fn := range []struct {
		name string
		f    func([]byte) bool
	}{{"old", printableOld}, {"new", printable}} {
		b.Run(fn.name, func(b *testing.B) {
			for b.Loop() {
				if !fn.f(line) {
					b.Fatal("not printable")
				}
			}
		})
	}
}
