package replay

import (
	"strings"
	"testing"
)

// mayHoldStaticOld is mayHoldStatic as it was before its table of first
// bytes, kept to compare with.
func mayHoldStaticOld(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return true
		}
		switch c | 0x20 {
		case 'k':
			if i+3 <= len(s) && s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'y' {
				return true
			}
		case 'p':
			if i+5 <= len(s) && strings.EqualFold(s[i:i+5], "passw") {
				return true
			}
		case 'a':
			if i+13 <= len(s) && strings.EqualFold(s[i:i+13], "authorization") {
				return true
			}
		case 'l':
			if strings.HasPrefix(s[i:], "LUFRPT") {
				return true
			}
		}
	}
	return false
}

// byRules is s with the static rules applied by their regexps alone.
func byRules(s string) string {
	for _, r := range staticRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// FuzzMayHoldStatic: mayHoldStatic answers as it did, and where it says
// false no static rule changes the text, so redactStatic is the regexps'
// result on every input.
func FuzzMayHoldStatic(f *testing.F) {
	for _, s := range []string{"show vpn flow tunnel-id 3", "key=abc", "?Key=abc", "x-pan-key: abc", "Authorization: Basic YWRtaW46eA==",
		"LUFRPT14MW5xOEo1R09K", "\u212aey=abc", "pa\u017fsword=abc", "monkey=banana", "passw", "kEy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := mayHoldStatic(s), mayHoldStaticOld(s); got != want {
			t.Fatalf("mayHoldStatic(%q) = %v, old %v", s, got, want)
		}
		want := byRules(s)
		if !mayHoldStatic(s) && want != s {
			t.Fatalf("mayHoldStatic(%q) = false, but a rule changes it to %q", s, want)
		}
		if got := redactStatic(s); got != want {
			t.Fatalf("redactStatic(%q) = %q, the rules give %q", s, got, want)
		}
	})
}

// TestStaticSecretAnywhere puts each shape of secret the static rules
// redact at every place of a command: redactStatic hides it there as the
// regexps do, and the secret is gone.
func TestStaticSecretAnywhere(t *testing.T) {
	const secretValue = "s3cr3tV4lue"
	shapes := []string{"key=" + secretValue, "PASSWORD=" + secretValue, "api_key=" + secretValue, "X-PAN-KEY: " + secretValue,
		`"x-pan-key":"` + secretValue, "Authorization: Basic " + secretValue, "authorization=bearer " + secretValue, "LUFRPT" + secretValue}
	base := "show vpn flow tunnel-id 207 "
	for _, sh := range shapes {
		for at := 0; at <= len(base); at++ {
			if at > 0 && base[at-1] != ' ' { // the key rules need a separator before
				continue
			}
			s := base[:at] + sh + " " + base[at:]
			got := redactStatic(s)
			if got != byRules(s) {
				t.Fatalf("redactStatic(%q) = %q, the rules give %q", s, got, byRules(s))
			}
			if strings.Contains(got, secretValue) {
				t.Fatalf("redactStatic(%q) = %q: the secret is left", s, got)
			}
		}
	}
}

func BenchmarkMayHoldStatic(b *testing.B) {
	const s = "show vpn flow tunnel-id 207"
	for _, fn := range []struct {
		name string
		f    func(string) bool
	}{{"old", mayHoldStaticOld}, {"new", mayHoldStatic}} {
		b.Run(fn.name, func(b *testing.B) {
			for b.Loop() {
				if fn.f(s) {
					b.Fatal("true")
				}
			}
		})
	}
}
