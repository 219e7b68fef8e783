package editdist

import "testing"

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"fw1", "fw1", 0}, {"fw1", "fw2", 1}, {"keyvalu", "keyvalue", 1}, {"", "abc", 3}, {"pässwort", "passwort", 1}} {
		if got := Levenshtein(c.a, c.b); got != c.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
